"""DNA editor pictures: a slot's code grid as an image, coloured by code id or by how codes sound.

A stereo slot has two pictures on one time axis: its mid grid and its side grid.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sda.app.dna_callbacks import Region
from sda.app.errors import AppError
from sda.app.grid_image import render_grid
from sda.app.state import AppContext, UserSession
from sda.dna.codes import Codes, Part

COLOUR_BY_CODE = "code id"
CACHED_GRIDS = 4  # descriptor rows kept: both grids of both slots redraw without decoding again


def grid_picture(
    ctx: AppContext,
    session: UserSession,
    slot: str,
    colour_by: str = COLOUR_BY_CODE,
    region: Region | None = None,
    *,
    width: int = 960,
    axis_frames: int | None = None,
    part: Part = "mid",
) -> np.ndarray | None:
    """The slot's grid as an image (height, width, 3) uint8, or None for an empty slot (and for
    the side of a mono one). `part`: the mid grid (a mono sound's only one) or the side grid.

    `axis_frames`: the length the width stands for (`shared_axis`), so A and B share a time scale.
    """
    codes = session.editor.slot(slot)
    if codes is None or (part == "side" and codes.channels == 1):
        return None
    codes = codes.part(part)  # one grid: a side picture is coloured by how the side sounds
    values = None
    if colour_by and colour_by != COLOUR_BY_CODE:
        values = _grid_values(ctx, session, codes, colour_by, part)
    selection = region.selection() if region is not None and region.end <= codes.frames else None
    return render_grid(
        codes.indices,
        codebook_size=codes.codebook_size,
        values=values,
        selection=selection,
        width=width,
        axis_frames=axis_frames,
    )


def shared_axis(session: UserSession) -> int | None:
    """Frames of the longer of slots A and B: the time axis both grids are drawn on."""
    lengths = [codes.frames for codes in map(session.editor.slot, "AB") if codes is not None]
    return max(lengths) if lengths else None


def _grid_values(
    ctx: AppContext, session: UserSession, codes: Codes, name: str, part: Part
) -> np.ndarray:
    """`code_values` of a grid; a side grid's direction row (where the side sits, not a sound of
    its own) draws mid-scale."""
    from sda.models.stereo_direction import split_side

    if part != "side":
        return code_values(ctx, session, codes, name)
    config = ctx.models.get(session.editor.model).codec.config
    rows, direction = split_side(codes.indices, config)
    values = code_values(ctx, session, codes.with_indices(rows), name)
    if direction is None:
        return values
    return np.concatenate([values, np.full((1, codes.frames), 0.5, values.dtype)])


def code_values(ctx: AppContext, session: UserSession, codes: Codes, name: str) -> np.ndarray:
    """Each cell coloured by how its code sounds: the mean descriptor of the frames using it.

    # (levels, frames) in 0..1; descriptors come from decoding this grid (cached per grid).
    """
    from sda.audio.descriptors import CONTROL_NAMES
    from sda.dna.analytics import code_profile, frame_descriptors
    from sda.dna.codec_bridge import decode

    if name not in CONTROL_NAMES:
        raise AppError(f"unknown descriptor {name!r}; choose from {', '.join(CONTROL_NAMES)}")
    key = hashlib.sha1(codes.indices.tobytes() + codes.bundle_id.encode()).hexdigest()
    per_frame = session.descriptor_cache.get(key)
    if per_frame is None:
        bundle = ctx.models.get(session.editor.model)
        config = bundle.codec.config
        raw = frame_descriptors(
            decode(bundle, codes),
            sample_rate=int(config.sample_rate),
            samples_per_frame=int(config.samples_per_frame),
            frames=codes.frames,
        )  # (frames, 6) raw units
        per_frame = _normalise(raw, bundle.descriptor_stats)
        # A few grids are enough (the pictures on screen); they change with every edit.
        kept = list(session.descriptor_cache.items())[-(CACHED_GRIDS - 1) :]
        session.descriptor_cache = {**dict(kept), key: per_frame}
    profile = code_profile([(codes, per_frame)], CONTROL_NAMES)
    column = profile.mean[:, :, CONTROL_NAMES.index(name)]  # (levels, codebook_size)
    return column[np.arange(codes.levels)[:, None], codes.indices]


def _normalise(raw: np.ndarray, stats: dict | None) -> np.ndarray:
    """Raw per-frame descriptors (frames, 6) -> 0..1, on the model's training scale when known.

    A grid whose values all sit at one end of that scale (e.g. a dark sound in a bright model)
    would draw as one flat colour, so such a descriptor is stretched to the grid's own range.
    """
    from sda.audio.descriptors import DescriptorStats

    # Percentiles, not min/max: one click or silent edge frame must not squash everything else.
    low, high = np.percentile(raw, 5, axis=0), np.percentile(raw, 95, axis=0)
    stretched = np.clip((raw - low) / np.maximum(high - low, 1e-9), 0.0, 1.0)
    if not stats:
        return stretched
    scaled = DescriptorStats.from_dict(stats).normalize(raw)
    spread = np.percentile(scaled, 95, axis=0) - np.percentile(scaled, 5, axis=0)
    flat = spread < 0.1  # (6,)
    return np.where(flat[None, :], stretched, scaled)
