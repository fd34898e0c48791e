"""Pure edits of code grids: each function validates its inputs and returns a new `Codes`.

Frame spans are half-open (`start`, `end`) like Python slices, without negative indices. Level
selections are an int, a `range`/`slice` or a list of ints; level 0 is the coarsest codebook.
Every result records the operation in `provenance["operations"]` so a file says how it was made.

Stereo grids (a mid and a side grid, see `sda.dna.codes`): these edits act on the mid; the side
follows every move in time (slices, loops, joins, splices, fitting two lengths) and is otherwise
kept. `sda.dna.stereo_edit` targets the side, or both, and swaps sides between sounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from sda.dna.codes import Codes, CodesError

Levels = int | range | slice | Iterable[int] | None
Fit = Literal["shortest", "longest", "a", "b"]
FITS = ("shortest", "longest", "a", "b")


# ----------------------------------------------------------------------------- validation


def level_list(codes: Codes, levels: Levels) -> list[int]:
    """The sorted, distinct levels a selection names; `None` means all levels."""
    if levels is None:
        return list(range(codes.levels))
    if isinstance(levels, slice):
        if levels.step not in (None, 1):
            raise CodesError("level ranges must be contiguous (no step)")
        start = 0 if levels.start is None else levels.start
        stop = codes.levels if levels.stop is None else levels.stop
        _check_level_bounds(codes, start, stop)
        selected = list(range(start, stop))
    elif isinstance(levels, int | np.integer):
        selected = [int(levels)]
    else:
        selected = sorted({int(level) for level in levels})
    if not selected:
        raise CodesError("no levels selected; name at least one level, e.g. 0:2")
    bad = [level for level in selected if not 0 <= level < codes.levels]
    if bad:
        raise CodesError(
            f"level {bad[0]} is out of range: these codes have levels 0..{codes.levels - 1}"
        )
    return selected


def _check_level_bounds(codes: Codes, start: int, stop: int) -> None:
    if not 0 <= start < stop <= codes.levels:
        raise CodesError(
            f"level range {start}:{stop} is out of range: these codes have levels "
            f"0..{codes.levels - 1} (use e.g. 0:{codes.levels})"
        )


def check_span(codes: Codes, start: int, end: int) -> tuple[int, int]:
    """Validate a half-open frame span against a grid and return it as ints."""
    start, end = int(start), int(end)
    if not 0 <= start < end <= codes.frames:
        raise CodesError(
            f"frame range {start}:{end} is out of range: these codes have frames "
            f"0..{codes.frames} ({codes.seconds:.2f} s); the start must be below the end"
        )
    return start, end


def check_pair(a: Codes, b: Codes) -> None:
    a.check_compatible(b)
    if a.levels != b.levels:
        raise CodesError(f"these grids have {a.levels} and {b.levels} levels; they must match")


def fitted_frames(a: Codes, b: Codes, fit: Fit = "shortest") -> int:
    """The one length two grids take under `fit`: the shortest, the longest, A's or B's."""
    if fit not in FITS:
        raise CodesError(f"unknown length rule {fit!r}; use one of {', '.join(FITS)}")
    return {
        "shortest": min(a.frames, b.frames),
        "longest": max(a.frames, b.frames),
        "a": a.frames,
        "b": b.frames,
    }[fit]


def fit_pair(a: Codes, b: Codes, fit: Fit = "shortest") -> tuple[np.ndarray, np.ndarray]:
    """Bring two grids to one length: crop to the shortest, loop to the longest, or follow A or B."""
    frames = fitted_frames(a, b, fit)
    return tile_frames(a.indices, frames), tile_frames(b.indices, frames)


def tile_frames(indices: np.ndarray, frames: int) -> np.ndarray:
    # (levels, frames) -> (levels, frames'), looping when it must grow
    if indices.shape[1] >= frames:
        return indices[:, :frames]
    repeats = -(-frames // indices.shape[1])
    return np.tile(indices, (1, repeats))[:, :frames]


# ----------------------------------------------------------------------------- provenance


def _one(
    codes: Codes, op: str, indices: np.ndarray, side: np.ndarray | None = None, **params: Any
) -> Codes:
    """A result of one grid; `side` is the side grid moved like the mid (None: kept as it is)."""
    operations = [*codes.provenance.get("operations", []), {"op": op, **params}]
    if side is None:
        return codes.with_indices(indices, operations=operations)
    return codes.with_indices(indices, side_indices=side, operations=operations)


def _side_fitted(codes: Codes, frames: int) -> np.ndarray | None:
    """The side grid looped or cropped to `frames`, as `fit_pair` does the mid (None: mono)."""
    return None if codes.side_indices is None else tile_frames(codes.side_indices, frames)


def pair_result(a: Codes, b: Codes, op: str, indices: np.ndarray, **params: Any) -> Codes:
    """A result of two grids: A's provenance, B's sources merged in, the op naming both inputs.
    A stereo A keeps its side grid, fitted to the result's length."""
    sources = list(a.provenance.get("sources", []))
    sources += [s for s in b.provenance.get("sources", []) if s not in sources]
    step = {"op": op, **params, "b": _grid_summary(b)}
    operations = [*a.provenance.get("operations", []), step]
    side = _side_fitted(a, np.shape(indices)[1])
    return a.with_indices(indices, side_indices=side, sources=sources, operations=operations)


def _grid_summary(codes: Codes) -> dict[str, Any]:
    """A short, JSON-friendly note of where a second input came from (not its whole history)."""
    return {"sources": list(codes.provenance.get("sources", [])), "frames": codes.frames}


# ----------------------------------------------------------------------------- time


def slice_frames(codes: Codes, start: int, end: int) -> Codes:
    """Frames `start:end` of a grid."""
    start, end = check_span(codes, start, end)
    side = None if codes.side_indices is None else codes.side_indices[:, start:end]
    return _one(codes, "slice", codes.indices[:, start:end], side, start=start, end=end)


def concat(first: Codes, *others: Codes) -> Codes:
    """Grids joined in time, in order; all must come from the same model."""
    if not others:
        raise CodesError("concat needs at least two grids")
    for other in others:
        check_pair(first, other)
        _check_same_channels(first, other, "join")
    indices = np.concatenate([first.indices, *(o.indices for o in others)], axis=1)
    sources = list(first.provenance.get("sources", []))
    for other in others:
        sources += [s for s in other.provenance.get("sources", []) if s not in sources]
    step = {"op": "concat", "parts": [_grid_summary(c) for c in (first, *others)]}
    operations = [*first.provenance.get("operations", []), step]
    side = None
    if first.side_indices is not None:
        side = np.concatenate([c.side_indices for c in (first, *others)], axis=1)
    return first.with_indices(indices, side_indices=side, sources=sources, operations=operations)


def _check_same_channels(a: Codes, b: Codes, doing: str) -> None:
    if a.channels != b.channels or a.side_levels != b.side_levels:
        raise CodesError(
            f"cannot {doing} a {_layout(a)} grid with a {_layout(b)} one: give the mono one a "
            "side first (sda.dna.stereo_edit.swap_side), or use the stereo one's mid (codes.mid)"
        )


def _layout(codes: Codes) -> str:
    return "mono" if codes.channels == 1 else f"stereo ({codes.side_levels} side levels)"


def loop(codes: Codes, *, times: int | None = None, frames: int | None = None) -> Codes:
    """A grid repeated `times` times, or looped/cropped to exactly `frames` frames."""
    if (times is None) == (frames is None):
        raise CodesError("loop needs exactly one of `times` or `frames`")
    if times is not None:
        if times < 1:
            raise CodesError(f"loop count must be at least 1, got {times}")
        frames = codes.frames * times
    if frames < 1:
        raise CodesError(f"loop length must be at least 1 frame, got {frames}")
    side = _side_fitted(codes, frames)
    return _one(codes, "loop", tile_frames(codes.indices, frames), side, frames=int(frames))


# ----------------------------------------------------------------------------- cells


def set_cells(codes: Codes, cells: Iterable[tuple[int, int, int]]) -> Codes:
    """Set individual cells, given as (level, frame, code) triples."""
    cells = [tuple(int(x) for x in cell) for cell in cells]
    if not cells:
        raise CodesError("no cells given; pass (level, frame, code) triples")
    indices = codes.indices.copy()
    for level, frame, code in cells:
        if not 0 <= level < codes.levels:
            raise CodesError(f"level {level} is out of range 0..{codes.levels - 1}")
        if not 0 <= frame < codes.frames:
            raise CodesError(f"frame {frame} is out of range 0..{codes.frames - 1}")
        _check_code(codes, code)
        indices[level, frame] = code
    return _one(codes, "set_cells", indices, cells=[list(c) for c in cells])


def set_region(
    codes: Codes, *, levels: Levels, start: int, end: int, value: int | np.ndarray
) -> Codes:
    """Fill levels x frames `start:end` with one code or with a grid of the region's shape."""
    selected = level_list(codes, levels)
    start, end = check_span(codes, start, end)
    value = np.asarray(value)
    shape = (len(selected), end - start)
    if value.ndim and value.shape != shape:
        raise CodesError(f"region values have shape {value.shape}; the region is {shape}")
    if not np.issubdtype(value.dtype, np.integer):
        raise CodesError(f"codes must be integers, got {value.dtype}")
    if value.size:
        _check_code(codes, int(value.min()))
        _check_code(codes, int(value.max()))
    indices = codes.indices.copy()
    indices[np.ix_(selected, np.arange(start, end))] = value
    note = int(value) if value.ndim == 0 else "grid"
    return _one(codes, "set_region", indices, levels=selected, start=start, end=end, value=note)


def _check_code(codes: Codes, code: int) -> None:
    if not 0 <= code < codes.codebook_size:
        raise CodesError(
            f"code {code} is out of range: this model's codes are 0..{codes.codebook_size - 1}"
        )


# ----------------------------------------------------------------------------- two sounds


def swap_levels(a: Codes, b: Codes, levels: Levels, *, fit: Fit = "shortest") -> Codes:
    """The chosen levels from A, every other level from B (e.g. A's coarse shape, B's texture).

    Choosing all levels gives A back exactly; choosing none is not allowed (it would be B).
    """
    check_pair(a, b)
    selected = level_list(a, levels)
    ia, ib = fit_pair(a, b, fit)
    indices = ib.copy()
    indices[selected] = ia[selected]
    return pair_result(a, b, "swap_levels", indices, levels=selected, fit=fit)


def choose_levels(a: Codes, b: Codes, choice: Sequence[str], *, fit: Fit = "shortest") -> Codes:
    """Per level, take the row from "a" or "b": `choice` has one letter per level, e.g. "aabbbbbb"."""
    check_pair(a, b)
    choice = [str(c).lower() for c in choice]
    if len(choice) != a.levels or any(c not in ("a", "b") for c in choice):
        raise CodesError(
            f"give one 'a' or 'b' per level ({a.levels} levels), e.g. {'ab' * (a.levels // 2)}"
        )
    ia, ib = fit_pair(a, b, fit)
    from_a = np.array([c == "a" for c in choice])
    indices = np.where(from_a[:, None], ia, ib)
    return pair_result(a, b, "choose_levels", indices, choice="".join(choice), fit=fit)


def swap_span(
    a: Codes,
    b: Codes,
    *,
    start: int,
    end: int,
    b_start: int | None = None,
    b_end: int | None = None,
    levels: Levels = None,
) -> Codes:
    """A with frames `start:end` replaced by B's frames `b_start:b_end` (default: the same span).

    With all levels the spans may differ in length (a splice); with some levels they must match.
    """
    check_pair(a, b)
    start, end = check_span(a, start, end)
    b_start = start if b_start is None else b_start
    b_end = b_start + (end - start) if b_end is None else b_end
    b_start, b_end = check_span(b, b_start, b_end)
    selected = level_list(a, levels)
    piece = b.indices[:, b_start:b_end]
    side = a.side_indices
    if len(selected) == a.levels:
        indices = np.concatenate([a.indices[:, :start], piece, a.indices[:, end:]], axis=1)
        if side is not None:  # a splice moves time: the side is spliced too
            _check_same_channels(a, b, "splice")
            b_side = b.side_indices[:, b_start:b_end]
            side = np.concatenate([side[:, :start], b_side, side[:, end:]], axis=1)
    else:
        if b_end - b_start != end - start:
            raise CodesError(
                f"span {start}:{end} of A and {b_start}:{b_end} of B differ in length; "
                "swapping only some levels needs equal lengths"
            )
        indices = a.indices.copy()
        indices[selected, start:end] = piece[selected]
    result = pair_result(
        a.with_indices(a.indices, side_indices=None),
        b,
        "swap_span",
        indices,
        start=start,
        end=end,
        b_start=b_start,
        b_end=b_end,
        levels=selected,
    )
    return result if side is None else result.with_indices(result.indices, side_indices=side)


def morph_schedule(levels: int, frames: int, start: int, end: int) -> np.ndarray:
    """Which source each cell comes from during a level morph: True = B. # (levels, frames)

    Across `start:end` the morph position runs 0 -> 1; level l switches to B once it passes
    (l + 0.5) / levels, so the coarse levels (the sound's shape) move first and fine texture last.
    """
    position = np.clip((np.arange(frames) - start + 0.5) / max(end - start, 1), 0.0, 1.0)
    thresholds = (np.arange(levels) + 0.5) / levels
    return position[None, :] >= thresholds[:, None]


def morph_levels(
    a: Codes, b: Codes, *, start: int | None = None, end: int | None = None, fit: Fit = "shortest"
) -> Codes:
    """Morph from A to B over frames `start:end` (default: the whole length) by switching codes,
    coarse levels first.

    Before `start` the grid is A's, after `end` it is B's. For a morph in latent space see
    `sda.dna.blend.morph_latents`.
    """
    check_pair(a, b)
    ia, ib = fit_pair(a, b, fit)
    frames = ia.shape[1]
    start = 0 if start is None else start
    end = frames if end is None else end
    if not 0 <= start < end <= frames:
        raise CodesError(f"morph range {start}:{end} is out of range 0..{frames}")
    use_b = morph_schedule(a.levels, frames, start, end)
    indices = np.where(use_b, ib, ia)
    return pair_result(a, b, "morph_levels", indices, start=int(start), end=int(end), fit=fit)


# ----------------------------------------------------------------------------- randomness


def randomize_region(
    codes: Codes,
    *,
    start: int,
    end: int,
    levels: Levels = None,
    seed: int = 0,
    weighted: bool = True,
) -> Codes:
    """Redraw the cells of a region from the codes each level actually uses in this grid.

    Staying within a level's own vocabulary keeps the result decodable to something of the same
    family; `weighted` draws codes as often as they occur, otherwise uniformly among them.
    """
    selected = level_list(codes, levels)
    start, end = check_span(codes, start, end)
    rng = np.random.default_rng(seed)
    indices = codes.indices.copy()
    for level in selected:
        used, counts = np.unique(codes.indices[level], return_counts=True)
        p = counts / counts.sum() if weighted else None
        indices[level, start:end] = rng.choice(used, size=end - start, p=p)
    return _one(
        codes,
        "randomize_region",
        indices,
        levels=selected,
        start=start,
        end=end,
        seed=int(seed),
        weighted=bool(weighted),
    )
