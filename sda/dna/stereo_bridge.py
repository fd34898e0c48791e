"""Between stereo sounds and their two code grids (mid and side, `sda.models.stereo_codec`).

A model is stereo when it says so (`model.channels == 2`: a `StereoCodec`, or a bundle trained
on stereo); its codec is the mono one, so mono grids keep working with it (they decode centred).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.decode import decode_codes
from sda.dna.errors import CodesError
from sda.models.stereo_codec import (
    DEFAULT_SIDE_GAIN,
    decoded_left_right,
    direction_row,
    is_stereo,
    to_mid_side,
)
from sda.models.stereo_direction import centred_code, from_codes, has_direction, split_side

if TYPE_CHECKING:
    from sda.library import Bundle
    from sda.models.codec import Codec
    from sda.models.stereo_codec import StereoCodec


def model_channels(model: Any) -> int:
    """2 for a stereo model (`channels == 2`), 1 for everything else (bundles, bare codecs)."""
    return 2 if is_stereo(model) else 1


def side_gain(model: Any) -> float:
    """The factor a stereo model lifts the side by before coding (`StereoCodec.side_gain`)."""
    return float(getattr(model, "side_gain", None) or DEFAULT_SIDE_GAIN)


def check_stereo_model(model: Any, what: str = "a stereo sound") -> None:
    """Refuse a mono model for stereo work, saying what to do instead."""
    if model_channels(model) != 2:
        name = model_parts(model)[2]
        raise CodesError(
            f"{what} needs a stereo model, and {name} is mono: use a model trained on stereo "
            "(channels 2; in Python a StereoCodec of the same codec), or edit the mid alone "
            "(the mono downmix: --target mid, codes.mid)"
        )


def encode_stereo(
    model: StereoCodec | Bundle | Any,
    audio: np.ndarray,
    *,
    side_levels: int | None = None,
    source: str | None = None,
) -> Codes:
    """Stereo model-rate audio (2, samples) -> `Codes` with a mid and a side grid.

    `side_levels` (default: the model's own, else every level) keeps that many side levels."""
    check_stereo_model(model, "encoding stereo audio")
    codec, model_id, name = model_parts(model)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] != 2 or audio.shape[1] == 0:
        raise CodesError(
            f"expected stereo audio of shape (2, samples), got {audio.shape}; "
            "load it with sda.audio.io.load_audio(path, channels=2)"
        )
    keep = side_levels or getattr(model, "side_levels", None) or codec.config.num_levels
    if not 1 <= keep <= codec.config.num_levels:
        raise CodesError(f"side_levels must be 1..{codec.config.num_levels}, got {keep}")
    mid, side = to_mid_side(audio.astype(np.float64))
    side = side * side_gain(model)
    device = next(codec.parameters()).device
    batch = torch.from_numpy(np.stack([mid, side]).astype(np.float32)).to(device)
    with torch.inference_mode():
        grids = codec.encode(batch).cpu().numpy()  # (2, levels, frames)
        side = grids[1, :keep]
        if has_direction(codec):
            stereo = torch.from_numpy(audio)[None].to(device)
            row = direction_row(stereo, codec.config)[0, : side.shape[1]].cpu().numpy()
            side = np.concatenate([side, row[None].astype(side.dtype)])
    operation = {"op": "encode", "model": name, "samples": int(audio.shape[1]), "channels": 2}
    if source is not None:
        operation["source"] = source
    return Codes(
        indices=grids[0],
        bundle_id=model_id,
        frame_rate=float(codec.config.frame_rate),
        codebook_size=int(codec.config.codebook_size),
        provenance={"sources": [source] if source else [], "operations": [operation]},
        side_indices=side,
    )


def decode_stereo(
    model: StereoCodec | Bundle | Codec | Any, codes: Codes, *, levels: int | None = None
) -> np.ndarray:  # -> (2, frames * samples_per_frame) float32
    """Left and right of a grid; a mono grid decodes centred (L = R = its sound).

    Mid and side decode in windows like any grid (`sda.dna.decode`); `levels` limits both (the
    side keeps at most its own)."""
    check_codes(model, codes)
    if levels is not None and not 1 <= levels <= codes.levels:
        raise CodesError(f"can decode with 1..{codes.levels} levels, not {levels}")
    mid = decode_codes(model, codes.mid, levels=levels).astype(np.float64)
    if codes.channels == 1:
        return np.stack([mid, mid]).astype(np.float32)
    config = model_parts(model)[0].config
    rows, row = split_side(np.asarray(codes.side_indices), config)
    side_levels = len(rows) if levels is None else min(levels, len(rows))
    side = decode_codes(model, codes.side.with_indices(rows), levels=side_levels)
    rho = None
    if row is not None:
        rho = from_codes(torch.from_numpy(row.astype(np.int64))[None], config.codebook_size)[0]
    return decoded_left_right(mid, side, side_gain(model), rho, config).astype(np.float32)


def silent_side(model: Bundle | Codec | Any, like: Codes, levels: int | None = None) -> Codes:
    """The side grid of a centred (mono) sound as long as `like`: the codes of silence, and a
    centred direction row when the model has one. `levels`: the rows to give (another sound's
    `side_levels`); by default the model's own."""
    codec = model_parts(model)[0]
    config = codec.config
    samples = like.frames * config.samples_per_frame
    device = next(codec.parameters()).device
    with torch.inference_mode():
        grid = codec.encode(torch.zeros(1, samples, device=device))[0].cpu().numpy()
    rows = levels or (config.grid_levels - config.num_levels) or like.levels
    if not has_direction(codec):
        return like.mid.with_indices(grid[:rows])
    centred = np.full((1, grid.shape[1]), centred_code(config.codebook_size), grid.dtype)
    return like.mid.with_indices(np.concatenate([grid[: rows - 1], centred]))
