"""A stereo model in generation: its prior samples the mid's and the side's grids as one stack.

The prior of a stereo model (`codec.config.channels == 2`) reads one grid per frame, the mid's
levels then the side's (`sda.models.stereo_grid`). Here that stack is made from `Codes` (a mono
prompt counts as centred: its side is the codes of silence), split back into `Codes` with a mid
and a side grid, and decoded to (2, samples). Descriptors and candidates are measured on the
downmix, which is the mid. A mono model's grids and audio pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sda.dna.codes import Codes
from sda.dna.decode import decode_codes
from sda.dna.stereo_bridge import decode_stereo, silent_side
from sda.generate.settings import GenerationError
from sda.models.stereo_codec import StereoCodec, is_stereo
from sda.models.stereo_grid import split_grid, stack_grids


def side_levels(models: Any) -> int:
    """The side levels of a stereo model's grid (0 for a mono model)."""
    config = getattr(models, "codec", models).config
    return config.grid_levels - config.num_levels


def prior_rows(models: Any, codes: Codes, *, what: str = "these codes") -> np.ndarray:
    """The grid the prior reads for `codes`: (levels, frames) for a mono model; for a stereo
    model (mid + side levels, frames), a mono sound's side being the codes of silence."""
    if not is_stereo(models):
        return np.asarray(codes.indices)
    wanted = side_levels(models)
    if codes.channels == 1:
        codes = codes.with_side(silent_side(_stereo_model(models), codes, levels=wanted).indices)
    if codes.side_levels != wanted:
        raise GenerationError(
            f"{what} have {codes.side_levels} side levels, but the model's prior reads "
            f"{wanted}: use codes this model made, or re-encode the sound with it"
        )
    return stack_grids(np.asarray(codes.indices), np.asarray(codes.side_indices))


def grid_codes(models: Any, like: Codes, grid: np.ndarray, **provenance: Any) -> Codes:
    """`like` with the prior's (rows, frames) `grid` as its codes: split into mid and side for a
    stereo model; `provenance` entries merged in."""
    grid = np.asarray(grid)
    if not is_stereo(models):
        return like.with_indices(grid, **provenance)
    levels = getattr(models, "codec", models).config.num_levels
    mid, side = split_grid(grid, levels)
    return like.with_indices(mid, side_indices=side, **provenance)


def new_codes(models: Any, fingerprint: str, grid: np.ndarray, provenance: dict) -> Codes:
    """A freshly sampled (rows, frames) grid as this model's `Codes` (mid + side for stereo)."""
    config = getattr(models, "codec", models).config
    levels = config.num_levels
    grid = np.asarray(grid)
    mid, side = split_grid(grid, levels) if is_stereo(models) else (grid, None)
    return Codes(
        indices=mid,
        bundle_id=fingerprint,
        frame_rate=float(config.frame_rate),
        codebook_size=int(config.codebook_size),
        provenance=provenance,
        side_indices=side,
    )


def decode_take(models: Any, codes: Codes) -> np.ndarray:
    """The audio of `codes`: (samples,) for a mono model, (2, samples) for a stereo one."""
    if is_stereo(models):
        return decode_stereo(_stereo_model(models), codes)
    return decode_codes(models, codes)


def downmix(audio: np.ndarray) -> np.ndarray:
    """(samples,) as it is; (2, samples) -> its mid (L + R) / 2, what descriptors measure."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def _stereo_model(models: Any) -> Any:
    """`models` when it says it is stereo (a bundle), else its codec as a `StereoCodec`."""
    if getattr(models, "channels", 1) == 2:  # a bundle or StereoCodec already
        return models
    return StereoCodec.of(getattr(models, "codec", models))
