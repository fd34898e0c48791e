"""How `sda generate` samples when guidance and candidates are unset, per control and per model."""

import math

import pytest

from sda.generate.sampling_defaults import (
    NOTES_CANDIDATES,
    NOTES_GUIDANCE,
    STEERED_GUIDANCE,
    describe_tension_way,
    sampling_defaults,
    tension_way,
)
from sda.training.tension_sampling import ONE_TAKE_FLOOR, TOLERANCE, choose_way

ONE_TAKE_PRIOR = {"tension_sampling": {"way": "one_take", "one_take_rho": 0.85}}
STEERED_PRIOR = {"tension_sampling": {"way": "steered", "one_take_rho": 0.3}}


def test_controls_the_render_sets_take_one_plain_take_whatever_the_model():
    for stats in (None, ONE_TAKE_PRIOR, STEERED_PRIOR):
        assert sampling_defaults({"brightness": 0.2, "density": 0.9}, stats) == (1.0, 1)
        assert sampling_defaults({}, stats) == (1.0, 1)


@pytest.mark.parametrize("stats", [None, {}, STEERED_PRIOR, {"tension_sampling": "junk"}])
def test_tension_is_steered_unless_the_prior_measured_one_take_enough(stats):
    expected = (STEERED_GUIDANCE, NOTES_CANDIDATES)
    assert sampling_defaults({"tension": 0.8}, stats) == expected
    assert tension_way(stats) == "steered"


def test_a_prior_that_follows_tension_in_one_take_gets_one_guided_take():
    assert sampling_defaults({"tension": 0.8, "brightness": 0.3}, ONE_TAKE_PRIOR) == (
        NOTES_GUIDANCE,
        1,
    )
    assert sampling_defaults({"tension": None, "warmth": 0.3}, ONE_TAKE_PRIOR) == (1.0, 1)


def test_one_take_is_chosen_only_where_it_follows_about_as_well_as_steering():
    assert choose_way(0.82, 0.87) == "one_take"  # the drums' figures
    assert choose_way(0.35, 0.77) == "steered"  # the percussion's
    assert choose_way(0.9, 0.9 + TOLERANCE + 0.01) == "steered"
    assert choose_way(ONE_TAKE_FLOOR - 0.01, 0.2) == "steered"  # neither follows well
    assert choose_way(math.nan, 0.5) == "steered"
    assert choose_way(0.8, math.nan) == "one_take"
    assert choose_way(None, 0.5) == "steered" and choose_way(0.8, None) == "one_take"


def test_the_verdict_is_described_for_library_show():
    measured = {"tension_sampling": {"way": "one_take", "one_take_rho": 0.82, "steered_rho": 0.87}}
    # a check from before 2026-12-07 compared 2 steered candidates, and did not say so
    assert describe_tension_way(measured) == ("one guided take (one take rho 0.82, 2 steered 0.87)")
    measured["tension_sampling"]["steered_candidates"] = 3
    assert describe_tension_way(measured) == ("one guided take (one take rho 0.82, 3 steered 0.87)")
    assert describe_tension_way(STEERED_PRIOR) == "steered candidates"
    assert describe_tension_way({}) is None and describe_tension_way(None) is None
