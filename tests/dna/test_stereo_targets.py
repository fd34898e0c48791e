"""Edits kept on one grid of a stereo sound: `keep_target` (an edit of both grids kept on the mid
or the side) and a two-sound edit of the mids that leaves A's side exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from sda.dna import edit
from sda.dna.codes import Codes, CodesError
from sda.dna.stereo_edit import edit_grid_pairs, keep_target

META = {"bundle_id": "abc123", "frame_rate": 46.875, "codebook_size": 64}


def _stereo(seed: int, frames: int = 12) -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        rng.integers(0, 32, (4, frames)),
        **META,
        provenance={"sources": [f"s{seed}.wav"]},
        side_indices=rng.integers(32, 64, (2, frames)),
    )


def _redrawn(codes: Codes) -> Codes:
    """Both grids redrawn in frames 3:6, as a stereo prior would."""
    mid, side = codes.indices.copy(), codes.side_indices.copy()
    mid[:, 3:6], side[:, 3:6] = 1, 33
    operations = [*codes.provenance.get("operations", []), {"op": "regenerate"}]
    return codes.with_indices(mid, side_indices=side, operations=operations)


@pytest.mark.parametrize("target", ["mid", "side", "both"])
def test_keep_target_keeps_the_other_grid(target):
    original = _stereo(0)
    kept = keep_target(original, _redrawn(original), target)
    mid_changed = not np.array_equal(kept.indices, original.indices)
    side_changed = not np.array_equal(kept.side_indices, original.side_indices)
    assert (mid_changed, side_changed) == (target != "side", target != "mid")
    if target != "both":
        assert kept.provenance["operations"][-1] == {"op": "regenerate", "grid": target}


def test_keep_target_refuses_mono_and_other_lengths():
    original = _stereo(0)
    with pytest.raises(CodesError, match="no side grid"):
        keep_target(original.mid, _redrawn(original), "side")
    with pytest.raises(CodesError, match="frames long"):
        keep_target(original, _redrawn(_stereo(1, frames=9)), "mid")
    with pytest.raises(CodesError, match="unknown target"):
        keep_target(original, original, "left")


def test_an_edit_of_the_mids_keeps_as_side_fitted():
    a, b = _stereo(0), _stereo(1, frames=20)
    swapped = edit_grid_pairs(a, b, "mid", lambda x, y: edit.swap_levels(x, y, 0, fit="b"))
    assert swapped.frames == 20 and swapped.channels == 2
    assert np.array_equal(swapped.indices[1:], b.indices[1:])
    assert np.array_equal(swapped.side_indices[:, 12:], a.side_indices[:, :8])  # A's, looped
    assert swapped.provenance["operations"][-1]["grid"] == "mid"
    assert swapped.provenance["sources"] == ["s0.wav", "s1.wav"]
    mono = edit_grid_pairs(a.mid, b, "mid", lambda x, y: edit.swap_levels(x, y, 0))
    assert mono.channels == 1  # a mono A stays mono


def test_an_edit_of_the_sides_fits_as_mid_to_the_result():
    a, b = _stereo(0), _stereo(1, frames=8)
    swapped = edit_grid_pairs(a, b, "side", lambda x, y: edit.swap_levels(x, y, 0))  # shortest
    assert swapped.frames == 8
    assert np.array_equal(swapped.indices, a.indices[:, :8])  # A's mid, cropped like the sides
    assert np.array_equal(swapped.side_indices[1], b.side_indices[1])
    longer = edit_grid_pairs(b, a, "side", lambda x, y: edit.swap_levels(x, y, 0, fit="longest"))
    assert longer.frames == 12 and np.array_equal(longer.indices[:, 8:], b.indices[:, :4])
