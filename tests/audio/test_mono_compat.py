"""The mono-compatibility figure of a stereo take, on cases whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from sda.audio.mono_compat import FLOOR_DB, mono_compatibility
from sda.audio.spatial import SpatialError

RATE = 48_000


def _tone() -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)


def test_identical_channels_lose_nothing_in_mono():
    figure = mono_compatibility(np.stack([_tone(), _tone()]))
    assert figure.downmix_db == pytest.approx(0.0, abs=1e-9)
    assert figure.correlation == pytest.approx(1.0) and not figure.cancels
    assert "mono-compatible" in figure.describe()


def test_a_phase_inverted_channel_cancels_in_mono():
    figure = mono_compatibility(np.stack([_tone(), -_tone()]))
    assert figure.downmix_db == FLOOR_DB and figure.correlation == pytest.approx(-1.0)
    assert figure.cancels and "cancel" in figure.describe()


def test_unrelated_channels_lose_about_3_db_and_a_half_inverted_take_is_flagged():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2, RATE))
    figure = mono_compatibility(noise)
    assert figure.downmix_db == pytest.approx(-3.01, abs=0.1) and abs(figure.correlation) < 0.02
    assert not figure.cancels  # wide, but nothing cancels
    half = np.stack([_tone() + 0.3 * noise[0], -0.8 * _tone() + 0.3 * noise[1]])
    assert mono_compatibility(half).cancels


def test_silence_counts_as_mono_and_mono_audio_is_refused():
    assert mono_compatibility(np.zeros((2, 100))).downmix_db == 0.0
    with pytest.raises(SpatialError, match=r"stereo audio \(2, samples\)"):
        mono_compatibility(_tone())
