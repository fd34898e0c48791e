"""Control settings in physical units, from the model's own descriptor ranges."""

from __future__ import annotations

import math

import pytest

from sda.audio.descriptors import DescriptorStats
from sda.generate.control_units import describe_controls, physical_value

# brightness, warmth, roughness, tension, density, loudness (raw units, see sda.audio.descriptors)
STATS = DescriptorStats(
    low=(math.log2(500.0), -10.0, -40.0, 0.05, 0.5, -90.0),
    high=(math.log2(8000.0), 20.0, -10.0, 0.45, 6.5, -12.0),
)


def test_each_control_speaks_its_unit() -> None:
    assert physical_value("brightness", 0.0, STATS) == "≈ 500 Hz centroid"
    assert physical_value("brightness", 1.0, STATS) == "≈ 8.0 kHz centroid"
    assert physical_value("warmth", 0.5, STATS) == "≈ +5 dB lows over highs"
    assert physical_value("roughness", 1.0, STATS) == "≈ -10 dB spectral flatness"
    assert physical_value("tension", 0.5, STATS) == "≈ 0.25 dissonance"
    assert physical_value("density", 0.5, STATS) == "≈ 3.5 onsets/s"
    odd = DescriptorStats(low=(500.0, *STATS.low[1:]), high=(6000.0, *STATS.high[1:]))
    assert physical_value("brightness", 0.0, odd) == "≈ 500 centroid (log2 Hz)"  # no overflow
    # loudness in its musical range: 30 dB below the loud end at most, not the raw -90 dB
    assert physical_value("loudness", 0.0, STATS) == "≈ -42 dBFS RMS"


def test_settings_and_curves_are_described_together() -> None:
    text = describe_controls({"density": 0.5, "loudness": "0:1"}, STATS)
    assert text == "density 0.5 (≈ 3.5 onsets/s), loudness 0 → 1 (≈ -42 → -12 dBFS RMS)"


def test_bad_values_are_refused_as_controls_are() -> None:
    from sda.generate.curves import ControlValueError

    with pytest.raises(ControlValueError):
        describe_controls({"density": 1.5}, STATS)
