"""Draw a code grid (levels x frames) as an RGB image for the DNA editor.

Level 0 (the coarsest codebook) is the top row. Cells are coloured by code id (a stable hue per id)
or by a value in 0..1 such as a descriptor; the selected region stays bright, the rest is dimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GOLDEN_RATIO = 0.618033988749895
# A dark-to-bright ramp (blue-violet -> magenta -> orange -> pale yellow), readable on light and dark
# themes; descriptor values are interpolated between these anchors.
RAMP = np.array(
    [[20, 14, 60], [90, 24, 130], [182, 54, 121], [250, 122, 64], [252, 236, 160]], dtype=np.float32
)
BACKGROUND = np.array([24, 24, 32], dtype=np.uint8)


@dataclass(frozen=True)
class Selection:
    """A rectangle of the grid: levels [level_start, level_end) x frames [frame_start, frame_end)."""

    level_start: int
    level_end: int
    frame_start: int
    frame_end: int


def default_row_height(levels: int) -> int:
    """Pixel height of one level's row: short grids get taller rows."""
    return int(np.clip(240 // max(levels, 1), 12, 32))


def cell_at(
    x: int, y: int, *, levels: int, frames: int, width: int, axis_frames: int | None = None
) -> tuple[int, int]:
    """The (level, frame) under pixel (x, y) of an image drawn by `render_grid` (default rows,
    the same `axis_frames`); a click right of a short grid's end picks its last frame."""
    axis = max(int(axis_frames or frames), frames)
    pitch = default_row_height(levels) + 1
    level = int(np.clip(y // pitch, 0, levels - 1))
    frame = int(np.clip((x * axis) // width, 0, frames - 1))
    return level, frame


def code_colours(indices: np.ndarray, codebook_size: int) -> np.ndarray:
    """A stable colour per code id: neighbouring ids get far-apart hues.  # (levels, frames, 3) uint8"""
    ids = np.asarray(indices, dtype=np.float64)
    hue = (ids * GOLDEN_RATIO) % 1.0
    # Vary saturation and value a little with the id too, so ids with close hues still differ.
    saturation = 0.55 + 0.3 * ((ids * 0.381966) % 1.0)
    value = 0.72 + 0.25 * ((ids * 0.7548776662) % 1.0)
    del codebook_size  # the colour only depends on the id; kept for a symmetric call site
    return _hsv_to_rgb(hue, saturation, value)


def value_colours(values: np.ndarray) -> np.ndarray:
    """Map values in 0..1 (NaN = unknown, drawn grey) onto the ramp.  # (..., 3) uint8"""
    values = np.asarray(values, dtype=np.float32)
    unknown = ~np.isfinite(values)
    position = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(RAMP) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(RAMP) - 1)
    weight = (position - low)[..., None]
    rgb = RAMP[low] * (1.0 - weight) + RAMP[high] * weight
    rgb[unknown] = 110.0
    return rgb.round().astype(np.uint8)


def render_grid(
    indices: np.ndarray,
    *,
    codebook_size: int,
    values: np.ndarray | None = None,
    selection: Selection | None = None,
    width: int = 960,
    row_height: int | None = None,
    axis_frames: int | None = None,
) -> np.ndarray:
    """Render `indices` (levels, frames) as an image (height, width, 3) uint8.

    `values` (levels, frames) or (frames,) in 0..1 colours cells by a descriptor instead of by id.
    Grids wider than `width` frames are sampled (nearest frame per pixel column). `axis_frames`
    is the length the image's width stands for (default: this grid's), so two grids drawn with
    the same axis share one time scale; a shorter grid ends early, the rest left background.
    """
    indices = np.asarray(indices)
    levels, frames = indices.shape
    if levels == 0 or frames == 0:
        return np.tile(BACKGROUND, (48, width, 1))
    if values is None:
        cells = code_colours(indices, codebook_size)
    else:
        cells = value_colours(np.broadcast_to(np.asarray(values, np.float32), indices.shape))
    if selection is not None:
        cells = _dim_outside(cells, selection)
    if row_height is None:
        row_height = default_row_height(levels)
    axis = max(int(axis_frames or frames), frames)
    # Pixel column -> frame (nearest), pixel row -> level, with a 1-pixel gap between levels.
    positions = (np.arange(width) * axis) // width
    columns = np.minimum(positions, frames - 1)
    pitch = row_height + 1
    rows = np.arange(levels * pitch - 1)
    image = cells[rows // pitch][:, columns]
    image[(rows % pitch) == row_height] = BACKGROUND
    image[:, positions >= frames] = BACKGROUND  # past this grid's end on the shared axis
    if selection is not None:
        _outline(image, selection, frames=axis, width=width, pitch=pitch)
    return np.ascontiguousarray(image)


def _dim_outside(cells: np.ndarray, selection: Selection) -> np.ndarray:
    inside = np.zeros(cells.shape[:2], dtype=bool)
    inside[
        selection.level_start : selection.level_end, selection.frame_start : selection.frame_end
    ] = True
    dimmed = cells.astype(np.float32)
    dimmed[~inside] = dimmed[~inside] * 0.35 + 20.0
    return dimmed.astype(np.uint8)


def _outline(
    image: np.ndarray, selection: Selection, *, frames: int, width: int, pitch: int
) -> None:
    """Draw a 2-pixel white frame around the selection, in place."""
    if selection.level_end <= selection.level_start or selection.frame_end <= selection.frame_start:
        return
    height = image.shape[0]
    top = min(selection.level_start * pitch, height - 1)
    bottom = min(selection.level_end * pitch - 2, height - 1)
    left = min((selection.frame_start * width) // frames, width - 1)
    right = min(max((selection.frame_end * width) // frames - 1, left), width - 1)
    white = np.array([255, 255, 255], dtype=np.uint8)
    image[top : top + 2, left : right + 1] = white
    image[max(bottom - 1, top) : bottom + 1, left : right + 1] = white
    image[top : bottom + 1, left : left + 2] = white
    image[top : bottom + 1, max(right - 1, left) : right + 1] = white


def _hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB (all inputs in 0..1).  # (..., 3) uint8"""
    sector = np.floor(hue * 6.0).astype(np.int64) % 6
    fraction = hue * 6.0 - np.floor(hue * 6.0)
    p = value * (1.0 - saturation)
    q = value * (1.0 - fraction * saturation)
    t = value * (1.0 - (1.0 - fraction) * saturation)
    choices = [
        (value, t, p),
        (q, value, p),
        (p, value, t),
        (p, q, value),
        (t, p, value),
        (value, p, q),
    ]
    rgb = np.zeros(hue.shape + (3,), dtype=np.float64)
    for index, (red, green, blue) in enumerate(choices):
        mask = sector == index
        rgb[mask, 0] = red[mask]
        rgb[mask, 1] = green[mask]
        rgb[mask, 2] = blue[mask]
    return (rgb * 255.0).round().astype(np.uint8)
