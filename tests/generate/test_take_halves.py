"""Steered takes drawn as two halves side by side, the first running on into the second
(`sda.generate.take_halves`), on the tiny trained priors: which takes, what they record, and that
they stay deterministic, reported and as long as asked."""

import math

import numpy as np
import pytest

from sda.generate import generate
from sda.generate.take_halves import halves_suit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEERED = dict(controls={"tension": 0.8, "brightness": 0.3}, candidates=3, guidance=1.0)
FED_BACK = dict(controls={"tension": 0.8}, candidates=1, guidance=3.0)


def frames_of(bundle, seconds: float) -> int:
    return math.ceil(seconds * float(bundle.codec.config.frame_rate))


def operations(take) -> list[str]:
    return [step["op"] for step in take.codes.provenance["operations"]]


def test_a_long_steered_take_is_drawn_in_halves_joined_as_drawn(tiny_prior_bundle):
    seconds = 0.5
    frames = frames_of(tiny_prior_bundle, seconds)
    assert halves_suit(tiny_prior_bundle, frames)
    progress: list[tuple[int, int]] = []
    take = generate(
        tiny_prior_bundle, seconds=seconds, seed=5, on_progress=lambda *p: progress.append(p),
        **STEERED,
    )  # fmt: skip
    assert take.codes.frames == frames
    (drawn,) = take.codes.provenance["operations"]  # nothing redrawn afterwards
    half = (frames + 1) // 2
    assert drawn["op"] == "generate" and drawn["halves"] == [0, half]
    assert len(drawn["chosen"]) == 2 and all(0 <= row < 3 for row in drawn["chosen"])
    assert len(drawn["feedback"]) == 2  # tension fed back per half
    assert drawn["joined"] >= 1  # the first half ran on into the second's start
    assert progress and progress[-1] == (frames, frames)  # the halves report the take's frames
    again = generate(tiny_prior_bundle, seconds=seconds, seed=5, **STEERED)
    assert np.array_equal(again.codes.indices, take.codes.indices)
    assert np.array_equal(again.audio, take.audio)
    whole = generate(tiny_prior_bundle, seconds=seconds, seed=5, halves=False, **STEERED)
    assert "halves" not in whole.codes.provenance["operations"][0]


def test_free_fed_back_short_and_prompted_takes_are_drawn_whole(tiny_prior_bundle):
    free = generate(tiny_prior_bundle, seconds=0.5, seed=1, controls={"brightness": 0.7})
    assert operations(free) == ["generate"]  # not steered: one row, whole
    assert "halves" not in free.codes.provenance["operations"][0]
    assert not halves_suit(tiny_prior_bundle, frames_of(tiny_prior_bundle, 0.02))
    short = generate(tiny_prior_bundle, seconds=0.02, seed=1, **STEERED)
    assert (
        operations(short) == ["generate"]
        and "halves" not in short.codes.provenance["operations"][0]
    )
    fed_back = generate(tiny_prior_bundle, seconds=0.5, seed=1, **FED_BACK)  # one take: whole
    assert (
        operations(fed_back) == ["generate"]
        and "feedback" in fed_back.codes.provenance["operations"][0]
    )
    prompted = generate(tiny_prior_bundle, seconds=0.5, seed=1, prompt=free.codes, **STEERED)
    assert operations(prompted) == ["generate", "generate"]  # the prompt's step, then its own
    assert "halves" not in prompted.codes.provenance["operations"][-1]


def test_a_stereo_steered_take_is_drawn_in_halves_with_both_grids(tiny_stereo_bundle):
    seconds = 0.5
    frames = frames_of(tiny_stereo_bundle, seconds)
    assert halves_suit(tiny_stereo_bundle, frames)
    take = generate(tiny_stereo_bundle, seconds=seconds, seed=2, **STEERED)
    assert operations(take) == ["generate"] and "joined" in take.codes.provenance["operations"][0]
    assert take.codes.frames == frames and take.codes.side_indices is not None
    assert take.codes.side_indices.shape[1] == frames and take.audio.shape[0] == 2


def test_halves_without_candidates_to_join_from_have_their_middle_redrawn(tiny_prior_bundle):
    """`take_in_halves` asked for one take fed back (no rows to choose a join from): the halves
    meet where the first ends, and the frames around it are redrawn given both sides."""
    from sda.generate.take_halves import take_in_halves

    frames = frames_of(tiny_prior_bundle, 0.5)
    codes = take_in_halves(
        tiny_prior_bundle, frames, seed=3, controls={"tension": 0.8}, candidates=1, guidance=3.0
    )
    drawn, redrawn = codes.provenance["operations"]
    half = (frames + 1) // 2
    assert "joined" not in drawn and drawn["halves"] == [0, half] and "feedback" in drawn
    assert redrawn["op"] == "regenerate" and redrawn["start"] < half < redrawn["end"]
    assert codes.frames == frames
