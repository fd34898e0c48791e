"""Tone fidelity: a copy's energy at the original's partials, or on a comb of its own."""

from __future__ import annotations

import numpy as np
import pytest

from sda.audio.tone_fidelity import power_spectrum, strongest_partials, tone_kept, tones_kept

RATE = 48_000


def note(hz: float, seconds: float = 1.5) -> np.ndarray:
    """A held note: five harmonics falling in level."""
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(0.3 / k * np.sin(2 * np.pi * hz * k * t) for k in range(1, 6))


def comb(seconds: float = 1.5, spacing: float = 46.875) -> np.ndarray:
    """A buzz on a fixed comb: what a decoder repeating every 1,024 samples plays."""
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(0.1 * np.sin(2 * np.pi * spacing * k * t) for k in range(2, 12))


def test_the_partials_of_a_note_are_found():
    power, freqs = power_spectrum(note(220.0)[RATE // 4 : RATE // 4 + RATE], RATE)
    assert strongest_partials(power, freqs) == pytest.approx([220, 440, 660, 880, 1100], abs=1)


def test_a_faithful_copy_keeps_its_tone_and_a_comb_or_a_detuned_copy_do_not():
    original = note(220.0)
    assert tone_kept(original, original, RATE) == pytest.approx(1.0)
    assert tone_kept(original, 0.5 * original, RATE) == pytest.approx(1.0)  # level is not pitch
    assert tone_kept(original, note(220.0 * 2 ** (1 / 12)), RATE) < 0.05  # a semitone sharp
    assert tone_kept(original, comb(), RATE) < 0.2


def test_noise_hits_and_short_clips_have_no_tone_to_keep():
    noise = np.random.default_rng(0).normal(0, 0.1, int(1.5 * RATE))
    assert tone_kept(noise, noise, RATE) is None
    assert tone_kept(note(220.0, 0.5), note(220.0, 0.5), RATE) is None
    kept = tones_kept([note(110.0), noise], [note(110.0), noise], RATE)
    assert kept == [pytest.approx(1.0)]
