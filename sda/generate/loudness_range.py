"""What the loudness control's 0..1 means in dBFS RMS: a musical range taken from the material.

The training windows' 5th..95th percentile RMS is the raw range, but on a set with silence
between hits or long quiet passages its low end is near silence, so 0.1 would be inaudible. The
control therefore spans at most LOUDNESS_SPAN_DB below the material's loud end and never reaches
below QUIETEST_DBFS: 0 is quiet but clearly audible, 1 is as loud as the loud parts of the set.
The prior is conditioned on where that level sits among the training windows, so a quiet take
is made of ordinary material turned down, not of the set's near-silent decays turned up.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate.curves import ControlValue, keyframes

LOUDNESS_SPAN_DB = 30.0  # 0..1 covers at most this many dB below the material's loud end
QUIETEST_DBFS = -45.0  # loudness 0 is never quieter than this (RMS), material allowing
MIN_SPAN_DB = 6.0  # very quiet material still gets a usable range below its loud end
LOUDNESS = CONTROL_NAMES.index("loudness")


def loudness_range_db(stats: DescriptorStats) -> tuple[float, float]:
    """(dBFS RMS at loudness 0, at loudness 1) for a set with these descriptor ranges."""
    high = float(stats.high[LOUDNESS])
    low = max(float(stats.low[LOUDNESS]), high - LOUDNESS_SPAN_DB, QUIETEST_DBFS)
    return min(low, high - MIN_SPAN_DB), high


def loudness_db(value: float, stats: DescriptorStats) -> float:
    """The RMS level (dBFS) a loudness setting of `value` (0..1) asks for."""
    low, high = loudness_range_db(stats)
    return low + float(value) * (high - low)


def describe_loudness(value: float, stats: DescriptorStats) -> str:
    """A setting in a musician's units, e.g. "≈ -23 dBFS RMS"."""
    return f"≈ {loudness_db(value, stats):.0f} dBFS RMS"


def conditioning_controls(
    controls: Mapping[str, ControlValue], stats: DescriptorStats | None
) -> dict[str, ControlValue]:
    """`controls` as the prior and the steering should read them: a loudness setting becomes the
    place of its level among the training windows (what the prior learned 0..1 to mean)."""
    controls = dict(controls)
    if stats is None or "loudness" not in controls:
        return controls
    low, high = float(stats.low[LOUDNESS]), float(stats.high[LOUDNESS])
    points = [loudness_db(point, stats) for point in keyframes("loudness", controls["loudness"])]
    placed = [float(np.clip((db - low) / (high - low), 0.0, 1.0)) for db in points]
    controls["loudness"] = placed[0] if len(placed) == 1 else placed
    return controls
