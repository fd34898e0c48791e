"""Loud settings: peaks over the ceiling limited (`sda.generate.limiter`), not the whole take."""

from __future__ import annotations

import factories
import numpy as np
import pytest

from sda.audio.descriptors import measure
from sda.generate import limiter
from sda.generate.render import PEAK_CEILING, set_level

RATE = 48_000


def hits(seconds: float = 2.0, loud: float = 1.6) -> np.ndarray:
    """Decaying noise hits at 0.4 peak, every fourth one at `loud`: a drum take's crest factor."""
    rng = np.random.default_rng(0)
    audio = np.zeros(int(RATE * seconds), dtype=np.float32)
    decay = np.exp(-np.arange(6000) / 900.0)
    for number, start in enumerate(range(2400, len(audio) - 6000, 12000)):
        peak = loud if number % 4 == 0 else 0.4
        burst = rng.standard_normal(6000) * decay
        audio[start : start + 6000] += (peak * burst / np.abs(burst).max()).astype(np.float32)
    return audio


def test_peaks_over_the_ceiling_come_down_within_the_limit_and_nothing_else_moves():
    audio = hits(loud=1.5)
    out = limiter.limit_peaks(audio, RATE, ceiling=0.8)
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.abs(out).max() <= 0.8 + 1e-4  # 5.5 dB over, under the limit: all of it taken off
    gain = np.divide(out, audio, out=np.ones_like(audio), where=np.abs(audio) > 1e-6)
    assert gain.min() >= 10 ** (-limiter.MAX_REDUCTION_DB / 20) - 1e-4
    quiet_hit = slice(2400 + 12000, 2400 + 12000 + 6000)  # the second hit: under the ceiling
    np.testing.assert_allclose(out[quiet_hit], audio[quiet_hit], rtol=1e-5)
    # the gain falls before the loud hit (look-ahead) and recovers after it: no step, no click
    envelope = limiter.reduction_db(np.abs(audio), RATE, 0.8, limiter.MAX_REDUCTION_DB)
    assert envelope[2400 - 10] > 0.0 and envelope[2400 - 200] == 0.0
    assert np.abs(np.diff(envelope)).max() < 0.5  # dB per sample
    np.testing.assert_array_equal(limiter.limit_peaks(audio * 0.4, RATE, 0.8), audio * 0.4)


def test_more_than_the_limit_is_left_over_and_stereo_moves_together():
    audio = hits(loud=3.2)  # 12 dB over a ceiling of 0.8: only 6 come off
    out = limiter.limit_peaks(audio, RATE, ceiling=0.8)
    assert np.abs(out).max() == pytest.approx(3.2 * 10 ** (-6 / 20), rel=0.02)
    stereo = np.stack([audio, 0.5 * audio])
    both = limiter.limit_peaks(stereo, RATE, ceiling=0.8)
    np.testing.assert_allclose(both[1], 0.5 * both[0], atol=1e-6)


class _Model:
    """What `set_level` reads of a bundle: the sample rate and the descriptor statistics."""

    class codec:  # noqa: N801 - the attribute path a bundle has
        class config:  # noqa: N801
            sample_rate = RATE

    # loudness 0.7 / 0.8 / 0.9 ask for -27.5 / -25 / -22.5 dBFS RMS: the hits below peak over
    # -1 dBFS from about -29.4, so every one of them needs the limiter
    meta = {"descriptor_stats": {**factories.DESCRIPTOR_STATS, "loudness": [-60.0, -20.0]}}


def test_a_loud_setting_is_louder_than_a_softer_one_on_spiky_material():
    # without the limiter both settings hit the ceiling and came out at the same level
    audio = hits(seconds=4.0) * 0.1
    levels = [
        measure(set_level(_Model, audio, {"loudness": value}), RATE)["loudness"]
        for value in (0.7, 0.8, 0.9)
    ]
    assert levels[0] < levels[1] < levels[2]
    loud = set_level(_Model, audio, {"loudness": 0.9})
    assert np.abs(loud).max() <= PEAK_CEILING + 1e-6
