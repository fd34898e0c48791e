"""The DNA editor's stereo side: which grid of a stereo slot A an edit changes (mid, side or both)
and the "swap side" action (A's sound in B's room).

A mono slot A has no target: edits act on it as they always did. The region's levels are the
mid's; the side grid (often fewer levels) takes the part of them it has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sda.app.errors import AppError
from sda.dna.codes import Codes

if TYPE_CHECKING:
    from sda.app.dna_callbacks import Region
    from sda.app.state import AppContext, UserSession

TARGETS = ("both", "mid", "side")  # the selector's choices, the default first
SWAP_SIDE = "swap side"
TARGET_WORDS = {"mid": "mid", "side": "side", "both": "mid + side"}


def is_stereo(session: UserSession) -> bool:
    """Whether the editor holds a stereo sound (slot A or B): the stereo controls show then."""
    return any(
        codes is not None and codes.channels == 2 for codes in map(session.editor.slot, "AB")
    )


def target_for(a: Codes, target: str | None, region: Region | None = None) -> str | None:
    """The grid(s) an edit of `a` changes: None for a mono A (edited as it is). A region whose
    levels lie below the side's finest level leaves the side alone under "both"."""
    if a.channels == 1:
        return None
    target = target or "both"
    if target not in TARGETS:
        raise AppError(f"unknown edit target {target!r}; choose mid, side or both")
    if region is None or region.first_level < a.side_levels:
        return target
    if target == "side":
        raise AppError(
            f"the side grid has levels 0–{a.side_levels - 1} and the region starts at level "
            f"{region.first_level}; select lower levels to edit the side"
        )
    return "mid"


def side_levels(levels: list[int], grid: Codes) -> list[int]:
    """The region's levels a grid has (all of them for a mid; fewer for a side grid)."""
    return [level for level in levels if level < grid.levels]


def on_pair(a: Codes, b: Codes, target: str | None, edit: Callable[[Codes, Codes], Codes]) -> Codes:
    """A two-slot edit on the grids `target` names (as it is for a mono A)."""
    from sda.dna.stereo_edit import edit_grid_pairs

    return edit(a, b) if target is None else edit_grid_pairs(a, b, target, edit)


def on_one(a: Codes, target: str | None, edit: Callable[[Codes], Codes]) -> Codes:
    """A one-slot edit on the grids `target` names (as it is for a mono A)."""
    from sda.dna.stereo_edit import edit_grids

    return edit(a) if target is None else edit_grids(a, target, edit)


def regenerated(bundle, a: Codes, start: int, end: int, seed: int, target: str | None) -> Codes:
    """The prior's redraw of frames start:end, kept on the targeted grid(s)."""
    from sda.dna.stereo_edit import keep_target
    from sda.generate import regenerate_region

    result = regenerate_region(bundle, a, start, end, seed=int(seed))
    return result if target is None else keep_target(a, result, target)


def labelled(label: str, target: str | None) -> str:
    """A history label naming the grid(s) a stereo edit changed."""
    return label if target is None else f"{label} ({TARGET_WORDS[target]})"


def swap_side(ctx: AppContext, session: UserSession) -> str:
    """Slot A's mid with slot B's side: A's sound in B's room (B looped or cropped to A)."""
    from sda.dna.stereo_bridge import check_stereo_model
    from sda.dna.stereo_edit import swap_side as put_in_room

    editor = session.editor
    a, b = editor.slot("A"), editor.slot("B")
    if a is None or b is None:
        raise AppError("swap side puts A in B's room: load a sound into slots A and B first")
    check_stereo_model(ctx.models.get(editor.model), "swapping sides")
    if b.channels == 1:
        raise AppError("slot B is mono: it has no room (side) to give; load a stereo sound into B")
    editor.session.apply(put_in_room(a, b, fit="a"), label="side from B (A in B's room)")
    return "A is in B's room: A's mid with B's side."
