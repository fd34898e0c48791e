"""Pure code-grid edits: each operation's defining property and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from sda.dna import edit
from sda.dna.codes import Codes, CodesError

LEVELS, FRAMES, SIZE = 4, 40, 32


def make(seed: int, *, frames: int = FRAMES, bundle: str = "0123456789abcdef") -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        indices=rng.integers(0, SIZE, size=(LEVELS, frames)),
        bundle_id=bundle,
        frame_rate=46.875,
        codebook_size=SIZE,
        provenance={"sources": [f"file{seed}.wav"]},
    )


A, B = make(1), make(2)


def test_slice_concat_round_trip():
    head, tail = edit.slice_frames(A, 0, 15), edit.slice_frames(A, 15, FRAMES)
    joined = edit.concat(head, tail)
    assert np.array_equal(joined.indices, A.indices)
    assert joined.provenance["operations"][-1]["op"] == "concat"
    assert A.provenance.get("operations") is None  # inputs untouched


def test_loop_repeats_and_crops():
    looped = edit.loop(A, times=3)
    assert looped.frames == 3 * FRAMES
    assert np.array_equal(looped.indices[:, FRAMES : 2 * FRAMES], A.indices)
    assert np.array_equal(edit.loop(A, frames=50).indices[:, 40:], A.indices[:, :10])
    with pytest.raises(CodesError, match="exactly one"):
        edit.loop(A)
    with pytest.raises(CodesError, match="at least 1"):
        edit.loop(A, times=0)


def test_set_cells_and_region():
    changed = edit.set_cells(A, [(0, 3, 7), (3, 39, 1)])
    assert changed.indices[0, 3] == 7 and changed.indices[3, 39] == 1
    region = edit.set_region(A, levels=slice(1, 3), start=5, end=10, value=0)
    assert (region.indices[1:3, 5:10] == 0).all()
    assert np.array_equal(region.indices[0], A.indices[0])
    grid = np.arange(10).reshape(2, 5)
    assert np.array_equal(
        edit.set_region(A, levels=[0, 1], start=0, end=5, value=grid).indices[:2, :5], grid
    )
    with pytest.raises(CodesError, match="out of range"):
        edit.set_cells(A, [(0, 0, SIZE)])
    with pytest.raises(CodesError, match="shape"):
        edit.set_region(A, levels=[0], start=0, end=5, value=grid)


def test_swapping_all_levels_reproduces_the_other_file():
    assert np.array_equal(edit.swap_levels(A, B, None).indices, A.indices)
    assert np.array_equal(edit.swap_levels(B, A, range(LEVELS)).indices, B.indices)


def test_swap_levels_coarse_from_a_rest_from_b():
    mixed = edit.swap_levels(A, B, slice(0, 2))
    assert np.array_equal(mixed.indices[:2], A.indices[:2])
    assert np.array_equal(mixed.indices[2:], B.indices[2:])
    assert set(mixed.provenance["sources"]) == {"file1.wav", "file2.wav"}


def test_choose_levels_matches_swap():
    assert np.array_equal(
        edit.choose_levels(A, B, "aabb").indices, edit.swap_levels(A, B, [0, 1]).indices
    )
    with pytest.raises(CodesError, match="one 'a' or 'b' per level"):
        edit.choose_levels(A, B, "ab")


def test_fit_rules_for_different_lengths():
    short = make(3, frames=25)
    assert edit.swap_levels(A, short, 0).frames == 25
    longest = edit.swap_levels(A, short, 0, fit="longest")
    assert longest.frames == FRAMES
    assert np.array_equal(longest.indices[1:, 25:], short.indices[1:, :15])  # B looped
    assert edit.swap_levels(short, A, 0, fit="b").frames == FRAMES
    with pytest.raises(CodesError, match="length rule"):
        edit.swap_levels(A, B, 0, fit="middle")


def test_swap_span_same_length_and_splice():
    swapped = edit.swap_span(A, B, start=10, end=20)
    assert np.array_equal(swapped.indices[:, 10:20], B.indices[:, 10:20])
    assert np.array_equal(swapped.indices[:, :10], A.indices[:, :10])
    spliced = edit.swap_span(A, B, start=10, end=20, b_start=0, b_end=5)
    assert spliced.frames == FRAMES - 5
    assert np.array_equal(spliced.indices[:, 10:15], B.indices[:, :5])
    part = edit.swap_span(A, B, start=0, end=5, levels=[3])
    assert np.array_equal(part.indices[3, :5], B.indices[3, :5])
    assert np.array_equal(part.indices[:3], A.indices[:3])
    with pytest.raises(CodesError, match="differ in length"):
        edit.swap_span(A, B, start=0, end=5, b_start=0, b_end=6, levels=[0])


def test_morph_moves_coarse_levels_first():
    morphed = edit.morph_levels(A, B)
    assert morphed.provenance["operations"][-1]["op"] == "morph_levels"  # as named in the API
    assert np.array_equal(morphed.indices[:, 0], A.indices[:, 0])
    assert np.array_equal(morphed.indices[:, -1], B.indices[:, -1])
    schedule = edit.morph_schedule(LEVELS, FRAMES, 0, FRAMES)
    switch = schedule.argmax(axis=1)  # first frame from B, per level
    assert (np.diff(switch) > 0).all()
    held = edit.morph_levels(A, B, start=10, end=20)
    assert np.array_equal(held.indices[:, :10], A.indices[:, :10])
    assert np.array_equal(held.indices[:, 20:], B.indices[:, 20:])


def test_randomize_region_stays_in_each_levels_vocabulary():
    codes = Codes(
        indices=np.stack(
            [np.full(FRAMES, level * 3) + np.arange(FRAMES) % 2 for level in range(4)]
        ),
        bundle_id="x" * 16,
        frame_rate=10.0,
        codebook_size=SIZE,
    )
    changed = edit.randomize_region(codes, start=5, end=30, seed=4, weighted=False)
    for level in range(LEVELS):
        assert set(changed.indices[level]) <= set(codes.indices[level])
    assert np.array_equal(changed.indices[:, :5], codes.indices[:, :5])
    again = edit.randomize_region(codes, start=5, end=30, seed=4, weighted=False)
    assert np.array_equal(again.indices, changed.indices)  # seeded


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: edit.slice_frames(A, 10, 10), "frame range 10:10"),
        (lambda: edit.slice_frames(A, 0, FRAMES + 1), "out of range"),
        (lambda: edit.slice_frames(A, -1, 5), "out of range"),
        (lambda: edit.swap_levels(A, B, slice(0, LEVELS + 1)), "level range"),
        (lambda: edit.swap_levels(A, B, [LEVELS]), "level 4 is out of range"),
        (lambda: edit.swap_levels(A, B, []), "no levels"),
        (lambda: edit.randomize_region(A, start=0, end=5, levels=9), "out of range"),
        (lambda: edit.morph_levels(A, B, start=5, end=FRAMES + 3), "morph range"),
        (lambda: edit.concat(A), "at least two"),
    ],
)
def test_bad_ranges_are_refused_with_a_clear_message(call, message):
    with pytest.raises(CodesError, match=message):
        call()


def test_codes_from_another_model_are_refused():
    other = make(2, bundle="fedcba9876543210")
    for call in (
        lambda: edit.swap_levels(A, other, 0),
        lambda: edit.concat(A, other),
        lambda: edit.morph_levels(A, other),
        lambda: edit.swap_span(A, other, start=0, end=4),
    ):
        with pytest.raises(CodesError, match="different models"):
            call()


def test_results_survive_a_save_load_round_trip(tmp_path):
    result = edit.morph_levels(edit.swap_levels(A, B, 0), B, start=3, end=30)
    loaded = Codes.load(result.save(tmp_path / "m.sdacodes"))
    assert np.array_equal(loaded.indices, result.indices)
    assert loaded.provenance == result.provenance
