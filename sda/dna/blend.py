"""Blends and morphs in the codec's latent space: mix the quantized latents of A and B and
re-quantize. Frames whose mix is all A (or all B) keep A's (or B's) codes exactly, by construction.

Stereo grids blend grid by grid (mid with mid, side with side; `side_alpha` may differ, e.g. A's
sound in a room halfway to B's) and need a stereo model; a mono sound blended with a stereo one
counts as centred (its side is the codes of silence).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from sda.dna.codec_bridge import to_tensor
from sda.dna.codes import Codes, CodesError
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.edit import Fit, check_pair, fit_pair, pair_result, tile_frames
from sda.dna.stereo_bridge import check_stereo_model, silent_side
from sda.models.stereo_direction import split_side

if TYPE_CHECKING:
    from sda.library import Bundle
    from sda.models.codec import Codec


def check_alpha(alpha: float) -> float:
    """Blend amounts run from 0 (all A) to 1 (all B)."""
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise CodesError(f"alpha must be a number between 0 and 1, got {alpha!r}") from None
    if not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise CodesError(f"alpha must lie between 0 (all A) and 1 (all B), got {alpha}")
    return alpha


def mix_latents(
    model: Bundle | Codec, ia: np.ndarray, ib: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Per-frame mix (1 - w) * latents(A) + w * latents(B), re-quantized; exact at w = 0 and 1.

    ia, ib: (levels, frames) grids of equal shape; weights: (frames,) in 0..1.
    """
    codec = model_parts(model)[0]
    indices = np.where(weights[None] >= 1.0, ib, ia)
    mixed = (weights > 0) & (weights < 1) & (ia != ib).any(axis=0)
    if not mixed.any():
        return indices
    with torch.inference_mode():
        la = codec.codes_to_latents(to_tensor(codec, ia))  # (1, latent_dim, frames)
        lb = codec.codes_to_latents(to_tensor(codec, ib))
        w = torch.as_tensor(weights, dtype=la.dtype, device=la.device)
        requantized = codec.latents_to_codes(la + (lb - la) * w)  # (1, levels, frames)
    requantized = requantized[0, : ia.shape[0]].cpu().numpy()
    indices[:, mixed] = requantized[:, mixed]
    return indices


def blend(
    model: Bundle | Codec,
    a: Codes,
    b: Codes,
    alpha: float,
    *,
    fit: Fit = "shortest",
    side_alpha: float | None = None,
) -> Codes:
    """A and B mixed at `alpha` in latent space (0 = exactly A, 1 = exactly B); the side grids
    of stereo sounds at `side_alpha` (default `alpha`)."""
    alpha = check_alpha(alpha)
    side_alpha = alpha if side_alpha is None else check_alpha(side_alpha)
    check_pair(a, b)
    check_codes(model, a)
    ia, ib = fit_pair(a, b, fit)
    weights = np.full(ia.shape[1], alpha)
    params = {"alpha": alpha, "fit": fit}
    if a.channels == 2 or b.channels == 2:
        params["side_alpha"] = side_alpha
    mixed = pair_result(a, b, "blend", mix_latents(model, ia, ib, weights), **params)
    return _with_mixed_sides(model, mixed, a, b, np.full(ia.shape[1], side_alpha))


def morph_latents(
    model: Bundle | Codec,
    a: Codes,
    b: Codes,
    *,
    start: int | None = None,
    end: int | None = None,
    fit: Fit = "shortest",
) -> Codes:
    """A glides into B over frames `start:end` through interpolated latents (A before, B after)."""
    check_pair(a, b)
    check_codes(model, a)
    ia, ib = fit_pair(a, b, fit)
    frames = ia.shape[1]
    start = 0 if start is None else int(start)
    end = frames if end is None else int(end)
    if not 0 <= start < end <= frames:
        raise CodesError(f"morph range {start}:{end} is out of range 0..{frames}")
    weights = np.clip((np.arange(frames) - start + 0.5) / (end - start), 0.0, 1.0)
    weights[:start] = 0.0
    weights[end:] = 1.0
    indices = mix_latents(model, ia, ib, weights)
    result = pair_result(a, b, "morph_latents", indices, start=start, end=end, fit=fit)
    return _with_mixed_sides(model, result, a, b, weights)


def _with_mixed_sides(
    model: Bundle | Codec, result: Codes, a: Codes, b: Codes, weights: np.ndarray
) -> Codes:
    """`result` (the mids' mix) with the sides mixed at `weights`, when A or B is stereo."""
    if a.channels == 1 and b.channels == 1:
        return result
    check_stereo_model(model, "blending stereo sounds")
    side_a = a.side if a.channels == 2 else silent_side(model, a, b.side_levels)
    side_b = b.side if b.channels == 2 else silent_side(model, b, a.side_levels)
    config, frames = model_parts(model)[0].config, result.frames
    sa, row_a = split_side(tile_frames(side_a.indices, frames), config)
    sb, row_b = split_side(tile_frames(side_b.indices, frames), config)
    levels = min(len(sa), len(sb))
    side = mix_latents(model, sa[:levels], sb[:levels], weights)
    if row_a is not None:  # where the side sits: A's or B's, whichever weighs more in each frame
        side = np.concatenate([side, np.where(weights < 0.5, row_a, row_b)[None]])
    return result.with_indices(result.indices, side_indices=side)
