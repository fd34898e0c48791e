"""The loudness control's musical range: what 0..1 means in dBFS RMS, and what the prior hears."""

from __future__ import annotations

import numpy as np
import pytest

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate.loudness_range import (
    LOUDNESS_SPAN_DB,
    QUIETEST_DBFS,
    conditioning_controls,
    describe_loudness,
    loudness_db,
    loudness_range_db,
)


def stats_with_loudness(low: float, high: float) -> DescriptorStats:
    lows, highs = [0.0] * len(CONTROL_NAMES), [1.0] * len(CONTROL_NAMES)
    lows[CONTROL_NAMES.index("loudness")], highs[CONTROL_NAMES.index("loudness")] = low, high
    return DescriptorStats(low=tuple(lows), high=tuple(highs))


def test_a_set_with_silence_between_hits_still_gets_an_audible_quiet_end() -> None:
    stats = stats_with_loudness(-90.0, -12.0)  # windows of near silence set the raw low end
    assert loudness_range_db(stats) == (-12.0 - LOUDNESS_SPAN_DB, -12.0)
    assert loudness_db(0.1, stats) >= -45.0
    assert loudness_db(1.0, stats) == -12.0
    assert describe_loudness(0.0, stats) == "≈ -42 dBFS RMS"


def test_a_quiet_set_is_floored_and_a_narrow_set_keeps_its_own_range() -> None:
    assert loudness_range_db(stats_with_loudness(-80.0, -30.0)) == (QUIETEST_DBFS, -30.0)
    assert loudness_range_db(stats_with_loudness(-25.0, -10.0)) == (-25.0, -10.0)
    low, high = loudness_range_db(stats_with_loudness(-70.0, -48.0))  # quieter than the floor
    assert high - low == pytest.approx(6.0) and high == -48.0


def test_settings_map_monotonically_in_db() -> None:
    stats = stats_with_loudness(-90.0, -12.0)
    levels = [loudness_db(v, stats) for v in np.linspace(0, 1, 11)]
    assert np.all(np.diff(levels) > 0)


def test_the_prior_hears_where_the_level_sits_among_the_training_windows() -> None:
    stats = stats_with_loudness(-90.0, -12.0)
    asked = {"loudness": 0.0, "brightness": 0.3}
    heard = conditioning_controls(asked, stats)
    # -42 dBFS sits at (−42 − −90) / 78 of the raw range: ordinary material turned down
    assert heard["loudness"] == pytest.approx(48.0 / 78.0)
    assert heard["brightness"] == 0.3 and asked["loudness"] == 0.0  # the caller's dict is kept
    curve = conditioning_controls({"loudness": "0:1"}, stats)["loudness"]
    assert curve == pytest.approx([48.0 / 78.0, 1.0])
    assert conditioning_controls(asked, None) == asked  # a bundle without stats: as asked
    # where the raw range is already musical, the prior hears the setting itself
    narrow = stats_with_loudness(-25.0, -10.0)
    assert conditioning_controls({"loudness": 0.3}, narrow)["loudness"] == pytest.approx(0.3)
