"""One grid per frame for a stereo model's prior: the mid's levels, then the side's.

The prior reads a stereo sound as a single (mid levels + side levels, frames) grid, so both
streams are predicted at every step and the delay pattern simply runs over more rows (coarse mid
first, the side's coarse level right after the mid's finest). `CodecConfig.grid_levels` is the
row count; a mono model's grid is its mid alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from sda.models.codec import CodecError


def stack_grids(mid: Tensor | np.ndarray, side: Tensor | np.ndarray):
    """(..., levels, frames) mid and (..., side_levels, frames) side -> (..., both, frames)."""
    if mid.shape[-1] != side.shape[-1]:
        raise CodecError(
            f"mid and side grids must have the same frames, got {mid.shape[-1]} and {side.shape[-1]}"
        )
    if isinstance(mid, Tensor):
        return torch.cat([mid, torch.as_tensor(side, device=mid.device)], dim=-2)
    return np.concatenate([mid, side], axis=-2)


def split_grid(grid: Tensor | np.ndarray, num_levels: int) -> tuple:
    """A stacked (..., rows, frames) grid -> (mid, side): the first `num_levels` rows, the rest."""
    if not 0 < num_levels < grid.shape[-2]:
        raise CodecError(
            f"a stereo grid has more than {num_levels} rows (the mid's levels), got {grid.shape[-2]}"
        )
    return grid[..., :num_levels, :], grid[..., num_levels:, :]
