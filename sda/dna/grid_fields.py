"""Checks a stored code grid passes before it is used: its fields' types and ranges, and size caps.

Shared by `.sdacodes` and `.sdasession` readers. Every problem is a `CodesError` naming the field
and the allowed range; the reader adds which file it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sda.dna.errors import CodesError
from sda.dna.npz_reader import NpzReader

MAX_SECONDS = 2 * 3600.0  # the longest sound a codes file may hold, by default
MAX_LEVELS = 64
MAX_CODEBOOK_SIZE = 1 << 20
MAX_FRAME_RATE = 1000.0  # frames per second; real codecs run at 25..200
MAX_GRID_VALUES = 32 * 1024**2  # codes in one grid (128 MiB as int32), whatever its shape
MAX_ID_LENGTH = 256


@dataclass(frozen=True)
class GridFields:
    """What a file says about a grid besides its indices."""

    bundle_id: str
    frame_rate: float
    codebook_size: int
    provenance: dict[str, Any] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    """`value` as a finite float, None for text, booleans, lists or inf/nan."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer with hundreds of digits
        return math.inf
    return number if not math.isnan(number) else None


def check_grid_fields(item: Any) -> GridFields:
    """The grid description in `item` (a JSON object), or a `CodesError` naming the bad field."""
    if not isinstance(item, dict):
        raise CodesError(f"a grid's description is a JSON {type(item).__name__}, not an object")
    bundle_id = item.get("bundle_id")
    if not isinstance(bundle_id, str) or not 0 < len(bundle_id) <= MAX_ID_LENGTH:
        raise CodesError(
            f"'bundle_id' is missing or not a model id (got {_shown(bundle_id)}); "
            "the file is damaged"
        )
    rate = _number(item.get("frame_rate"))
    if rate is None or not 0 < rate <= MAX_FRAME_RATE:
        raise CodesError(
            f"'frame_rate' must be a number of frames per second in (0, {MAX_FRAME_RATE:g}], "
            f"got {_shown(item.get('frame_rate'))}"
        )
    size = item.get("codebook_size")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CODEBOOK_SIZE:
        raise CodesError(
            f"'codebook_size' must be a whole number in 1..{MAX_CODEBOOK_SIZE}, got {_shown(size)}"
        )
    provenance = item.get("provenance", {})
    if provenance is None:
        provenance = {}
    if not isinstance(provenance, dict):
        raise CodesError(f"'provenance' must be a JSON object, got {_shown(provenance)}")
    return GridFields(bundle_id, rate, size, provenance)


def max_frames(frame_rate: float, max_seconds: float = MAX_SECONDS) -> int:
    return int(math.ceil(max_seconds * frame_rate))


def check_grid_shape(
    shape: tuple[int, ...], fields: GridFields, key: str, *, max_seconds: float = MAX_SECONDS
) -> None:
    """Refuse a grid shape that is not (levels, frames) or is over a cap, naming the cap."""
    if len(shape) != 2:
        raise CodesError(f"'{key}' must be a 2-D grid (levels x frames), got shape {shape}")
    levels, frames = shape
    if not 1 <= levels <= MAX_LEVELS:
        raise CodesError(f"'{key}' has {levels} levels; a grid has 1..{MAX_LEVELS}")
    limit = max_frames(fields.frame_rate, max_seconds)
    if frames > limit:
        raise CodesError(
            f"'{key}' has {frames:,} frames ({frames / fields.frame_rate / 3600:.1f} hours), over "
            f"the cap of {limit:,} frames ({max_seconds / 3600:g} hours at "
            f"{fields.frame_rate:g} frames/s); split the sound into shorter files"
        )
    if levels * frames > MAX_GRID_VALUES:
        raise CodesError(
            f"'{key}' holds {levels * frames:,} codes, over the cap of {MAX_GRID_VALUES:,}"
        )


def read_grid(
    archive: NpzReader, key: str, fields: GridFields, *, max_seconds: float = MAX_SECONDS
) -> np.ndarray:
    """The (levels, frames) indices stored under `key`, their shape checked before reading."""
    shape, _ = archive.header(key)
    check_grid_shape(shape, fields, key, max_seconds=max_seconds)
    return archive.array(key, kinds="iu", max_items=MAX_GRID_VALUES)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
