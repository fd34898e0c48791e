"""Edits of stereo grids that target the mid, the side or both, and side swaps between sounds.

The mid grid is a sound's mono image (its downmix); the side grid is its width and room. So
`swap_side(a, b)` puts A in B's room: A's mid with B's side. Any edit of `sda.dna.edit` can act on
one grid or both through `edit_grids` / `edit_grid_pairs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sda.dna.codes import Codes, CodesError
from sda.dna.edit import Fit, check_pair, fitted_frames, pair_result, tile_frames

Target = Literal["mid", "side", "both"]
TARGETS = ("mid", "side", "both")


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise CodesError(f"unknown target {target!r}; edit the mid, the side or both")


def _needs_side(codes: Codes, name: str) -> None:
    if codes.channels != 2:
        raise CodesError(
            f"{name} is mono: it has no side grid to edit; edit its mid (target mid), or give "
            "it a side first by putting it in a stereo sound's room (swap side)"
        )


def _noted(codes: Codes, mid: Codes, side: Codes, target: str) -> Codes:
    """`mid` with `side` as its side grid, `codes`' history plus the edit's step (as the side's
    edit recorded it), marked with its target."""
    step = dict((side.provenance.get("operations") or [{"op": "edit"}])[-1])
    step["grid"] = target
    operations = [*codes.provenance.get("operations", []), step]
    sources = list(side.provenance.get("sources", codes.provenance.get("sources", [])))
    return mid.with_indices(
        mid.indices, side_indices=side.indices, sources=sources, operations=operations
    )


def edit_grids(codes: Codes, target: Target, edit: Callable[[Codes], Codes]) -> Codes:
    """`edit` (an edit of `sda.dna.edit`, e.g. `lambda g: randomize_region(g, start=0, end=8)`)
    applied to the mid (the side following moves in time), the side, or each grid on its own;
    an edit of the side alone must keep its length."""
    _check_target(target)
    if target == "mid":  # the edits act on the mid already; the side follows moves in time
        return edit(codes)
    _needs_side(codes, "this sound")
    side = edit(codes.side)
    mid = edit(codes.mid) if target == "both" else codes.mid
    _check_lengths(mid, side)
    return _noted(codes, mid, side, target)


def edit_grid_pairs(
    a: Codes, b: Codes, target: Target, edit: Callable[[Codes, Codes], Codes]
) -> Codes:
    """A two-sound edit (e.g. `lambda x, y: swap_levels(x, y, 0)`) applied grid by grid: A's mid
    with B's mid, A's side with B's side, or both; the result keeps A's other grid (fitted to
    the result's length, as the edit fitted the grids it changed)."""
    _check_target(target)
    if target == "mid":  # mids alone: a latent blend must not pull A's side towards B's
        mid = edit(a.mid, b.mid)
        if a.channels == 1:
            return mid
        side = a.side.with_indices(tile_frames(a.side_indices, mid.frames))
        return _noted(a, mid, _with_step(side, mid), target)
    _needs_side(a, "sound A")
    _needs_side(b, "sound B")
    side = edit(a.side, b.side)
    if target == "both":
        mid = edit(a.mid, b.mid)
    else:  # A's mid, looped or cropped as the edit fitted the sides
        mid = a.mid.with_indices(tile_frames(a.indices, side.frames))
    _check_lengths(mid, side)
    return _noted(a, mid, side, target)


def _with_step(grid: Codes, edited: Codes) -> Codes:
    """`grid` carrying `edited`'s history and sources (so `_noted` records the edit's step)."""
    provenance = edited.provenance
    return grid.with_indices(
        grid.indices,
        operations=provenance.get("operations", []),
        sources=provenance.get("sources", []),
    )


def _check_lengths(mid: Codes, side: Codes) -> None:
    if mid.frames != side.frames:
        raise CodesError(
            f"the edit left the mid {mid.frames} frames long and the side {side.frames}; "
            "edit both grids the same way (target 'both' with an edit of the same length)"
        )


def keep_target(original: Codes, edited: Codes, target: Target) -> Codes:
    """An edit made to both grids at once (e.g. a stereo prior redrawing a region) kept on the
    grid `target` names: the other grid stays as it was in `original` (same length needed)."""
    _check_target(target)
    if target == "both":
        return edited
    _needs_side(original, "this sound")
    _needs_side(edited, "the edited sound")
    _check_lengths(original.mid, edited.mid)
    if target == "mid":
        side = original.side_indices
        return edited.with_indices(edited.indices, side_indices=side, **_marked(edited, target))
    return edited.with_indices(original.indices, **_marked(edited, target))


def _marked(edited: Codes, target: str) -> dict[str, Any]:
    """`edited`'s history with its last step marked with the grid it was kept on."""
    operations = [dict(step) for step in edited.provenance.get("operations", [])]
    if operations:
        operations[-1]["grid"] = target
    return {"operations": operations}


def swap_side(a: Codes, b: Codes, *, fit: Fit = "shortest") -> Codes:
    """A's mid with B's side: A in B's room. A may be mono (it gains B's width and room)."""
    check_pair(a, b)
    _needs_side(b, "sound B")
    frames = fitted_frames(a, b, fit)
    mid = tile_frames(a.indices, frames)
    result = pair_result(a.mid, b, "swap_side", mid, fit=fit)
    return result.with_indices(mid, side_indices=tile_frames(b.side_indices, frames))


def without_side(codes: Codes, **note: Any) -> Codes:
    """The mono sound of a stereo grid (its mid, the downmix), the step recorded."""
    operations = [*codes.provenance.get("operations", []), {"op": "mono", **note}]
    return codes.mid.with_indices(codes.indices, operations=operations)
