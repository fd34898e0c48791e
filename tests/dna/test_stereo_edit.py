"""Edits of stereo grids: the side follows moves in time, edits target the mid, the side or both,
and `swap_side` puts one sound in another's room."""

from __future__ import annotations

import numpy as np
import pytest

from sda.dna import analytics, edit
from sda.dna.codes import Codes, CodesError
from sda.dna.stereo_edit import edit_grid_pairs, edit_grids, swap_side, without_side

META = {"bundle_id": "abc123", "frame_rate": 46.875, "codebook_size": 64}


def _stereo(seed: int, frames: int = 12, side_levels: int = 2) -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        rng.integers(0, 32, (4, frames)),
        **META,
        provenance={"sources": [f"s{seed}.wav"]},
        side_indices=rng.integers(32, 64, (side_levels, frames)),
    )


def _mono(seed: int, frames: int = 12) -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(rng.integers(0, 32, (4, frames)), **META, provenance={"sources": ["m.wav"]})


def test_swap_side_puts_a_in_bs_room():
    a, b = _stereo(0), _stereo(1, frames=20)
    room = swap_side(a, b)
    assert np.array_equal(room.indices, a.indices)
    assert np.array_equal(room.side_indices, b.side_indices[:, :12])
    assert room.provenance["operations"][-1]["op"] == "swap_side"
    assert room.provenance["sources"] == ["s0.wav", "s1.wav"]
    longest = swap_side(a, b, fit="longest")  # A's mid loops to B's length
    assert longest.frames == 20 and np.array_equal(longest.indices[:, 12:], a.indices[:, :8])


def test_a_mono_sound_gains_a_room_and_a_mono_room_is_refused():
    narrow = _mono(3)
    placed = swap_side(narrow, _stereo(1))
    assert placed.channels == 2 and np.array_equal(placed.indices, narrow.indices)
    with pytest.raises(CodesError, match="sound B is mono"):
        swap_side(_stereo(0), narrow)
    with pytest.raises(CodesError, match="different models"):
        swap_side(_stereo(0), Codes(np.zeros((4, 12), int), **{**META, "bundle_id": "other"}))


def test_moves_in_time_move_the_side_too():
    a = _stereo(0)
    part = edit.slice_frames(a, 2, 6)
    assert np.array_equal(part.side_indices, a.side_indices[:, 2:6])
    looped = edit.loop(a, frames=30)
    assert np.array_equal(looped.side_indices[:, 12:24], a.side_indices)
    joined = edit.concat(a, _stereo(1, frames=5))
    assert joined.frames == 17 and np.array_equal(
        joined.side_indices[:, 12:], _stereo(1, 5).side_indices
    )
    spliced = edit.swap_span(a, _stereo(1), start=0, end=4, b_start=0, b_end=8)
    assert spliced.frames == 16 and np.array_equal(
        spliced.side_indices[:, :8], _stereo(1).side_indices[:, :8]
    )
    with pytest.raises(CodesError, match="cannot join a stereo"):
        edit.concat(a, _mono(1))


def test_level_edits_act_on_the_mid_and_keep_the_side():
    a, b = _stereo(0), _stereo(1)
    swapped = edit.swap_levels(a, b, 0)
    assert np.array_equal(swapped.side_indices, a.side_indices)
    assert np.array_equal(swapped.indices[1:], b.indices[1:])
    filled = edit.set_region(a, levels=0, start=0, end=3, value=5)
    assert np.array_equal(filled.side_indices, a.side_indices)


def test_edits_target_the_side_or_both():
    a = _stereo(0)
    redraw = lambda g: edit.set_region(g, levels=0, start=0, end=4, value=7)  # noqa: E731
    side_only = edit_grids(a, "side", redraw)
    assert np.array_equal(side_only.indices, a.indices)
    assert (side_only.side_indices[0, :4] == 7).all()
    step = side_only.provenance["operations"][-1]
    assert step["op"] == "set_region" and step["grid"] == "side"
    both = edit_grids(a, "both", redraw)
    assert (both.indices[0, :4] == 7).all() and (both.side_indices[0, :4] == 7).all()
    mid_only = edit_grids(a, "mid", redraw)
    assert np.array_equal(mid_only.side_indices, a.side_indices)
    with pytest.raises(CodesError, match="keep its length|same way"):
        edit_grids(a, "side", lambda g: edit.slice_frames(g, 0, 4))
    with pytest.raises(CodesError, match="no side grid"):
        edit_grids(_mono(0), "side", redraw)
    with pytest.raises(CodesError, match="unknown target"):
        edit_grids(a, "left", redraw)


def test_two_sound_edits_grid_by_grid():
    a, b = _stereo(0), _stereo(1)
    texture = edit_grid_pairs(a, b, "side", lambda x, y: edit.swap_levels(x, y, 0))
    assert np.array_equal(texture.indices, a.indices)
    assert np.array_equal(texture.side_indices[0], a.side_indices[0])
    assert np.array_equal(texture.side_indices[1], b.side_indices[1])
    with pytest.raises(CodesError, match="sound B is mono"):
        edit_grid_pairs(a, _mono(1), "both", lambda x, y: edit.swap_levels(x, y, 0))


def test_without_side_is_the_mid():
    mono = without_side(_stereo(0))
    assert mono.channels == 1 and mono.provenance["operations"][-1]["op"] == "mono"


def test_analytics_read_either_grid():
    grids = {"a": _stereo(0), "b": _stereo(1)}
    side_usage = analytics.level_usage(list(grids.values()), part="side")
    assert side_usage.shape == (2, 64) and side_usage[:, :32].sum() == 0  # side codes are 32..63
    usage = analytics.grid_usage(list(grids.values()))
    assert set(usage) == {"mid", "side"} and len(usage["side"]) == 2
    assert set(analytics.grid_usage([_stereo(0), _mono(1)])) == {"mid"}
    assert analytics.similarity(grids, part="side").shape == (2, 2)
    signatures = analytics.signature_codes(grids, part="side", top=2)
    assert all(code.code >= 32 for code in signatures["a"])
    with pytest.raises(CodesError, match="no side grid"):
        analytics.level_usage([_mono(0)], part="side")
