"""A stereo model's prior grid: mid rows then side rows, and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sda.models.codec import CodecError
from sda.models.stereo_grid import split_grid, stack_grids


def test_stack_then_split_gives_the_grids_back():
    mid = torch.randint(0, 8, (1, 3, 10))
    side = torch.randint(0, 8, (1, 2, 10))
    grid = stack_grids(mid, side)
    assert grid.shape == (1, 5, 10)
    back_mid, back_side = split_grid(grid, 3)
    assert torch.equal(back_mid, mid) and torch.equal(back_side, side)
    assert stack_grids(mid.numpy()[0], side.numpy()[0]).shape == (5, 10)


def test_grids_of_other_lengths_or_a_mono_grid_are_refused():
    with pytest.raises(CodecError, match="same frames"):
        stack_grids(np.zeros((3, 10)), np.zeros((2, 9)))
    with pytest.raises(CodecError, match="more than 3 rows"):
        split_grid(np.zeros((3, 10)), 3)


def test_the_stereo_bundle_fixture_is_stereo_with_a_prior_over_both_grids(tiny_stereo_bundle):
    bundle = tiny_stereo_bundle
    assert (bundle.channels, bundle.side_levels) == (2, 2)
    levels = bundle.codec.config.num_levels
    assert (
        bundle.prior.config.num_levels == bundle.codec.config.grid_levels == levels + 2 + 1
    )  # + direction
