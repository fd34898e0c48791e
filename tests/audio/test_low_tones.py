"""Low tones: a kick body's pitch and level, original against copy."""

from __future__ import annotations

import numpy as np
import pytest

from sda.audio.low_tones import compare_low_tones, low_tone

RATE = 48_000


def kick(hz: float, level: float = 0.8) -> np.ndarray:
    """A click and a decaying sine body, as a drum machine's kick."""
    t = np.arange(RATE // 2) / RATE
    body = level * np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.15)
    body[:48] += np.random.default_rng(0).normal(0, 0.05, 48)
    return body


def hat() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(RATE // 4) / RATE
    return np.diff(rng.normal(0, 0.3, t.size + 1)) * np.exp(-t / 0.03)  # bright noise


def test_a_kick_body_is_found_at_its_pitch_and_a_hat_has_none() -> None:
    tone = low_tone(kick(36.0), RATE)
    assert tone is not None and tone.hz == pytest.approx(36.0, abs=1.0)
    assert low_tone(hat(), RATE) is None


def test_a_copy_an_octave_and_more_high_and_quieter_is_named() -> None:
    originals = [kick(36.0), kick(55.0), hat()]
    copies = [kick(94.0, 0.3), kick(55.0), hat()]
    compared = compare_low_tones(originals, copies, RATE)
    assert len(compared.pitch_error_semitones) == 2  # the hat has no low tone to keep
    assert compared.pitch_error_semitones[0] == pytest.approx(12 * np.log2(94 / 36), abs=0.3)
    assert compared.pitch_error_semitones[1] == pytest.approx(0.0, abs=0.1)
    assert compared.level_error_db[0] < -6.0  # 0.3 against 0.8, and the body spread thinner
    # the median of 16.6 and 0 semitones: half an octave-and-more, not either one
    assert compared.median_abs_pitch_error == pytest.approx(6 * np.log2(94 / 36), abs=0.2)


def test_a_dc_offset_is_not_taken_for_a_tone() -> None:
    offset = kick(55.0) + 0.2  # a recording that sits off zero: its DC leaks into the lowest bins
    tone = low_tone(offset, RATE)
    assert tone is not None and tone.hz == pytest.approx(55.0, abs=1.0)
