"""The attack measure: hits are found where they start, steady tones have none, and a copy's
peak error and rise are read at each hit."""

from __future__ import annotations

import numpy as np

from sda.audio.attacks import compare_attacks, find_attacks, peak_envelope_db

RATE = 48_000


def _hit(frequency: float, seconds: float = 0.4, decay: float = 12.0) -> np.ndarray:
    """A struck tone: full level at once, decaying exponentially."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.8 * np.exp(-decay * t) * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def _kit(hits: list[float], seconds: float = 2.0, frequency: float = 40.0) -> np.ndarray:
    """Low struck tones (a kick's ringing body) at the given times."""
    audio = np.zeros(int(seconds * RATE), dtype=np.float32)
    for at in hits:
        hit = _hit(frequency)
        start = int(at * RATE)
        audio[start : start + len(hit)] += hit[: len(audio) - start]
    return audio


def test_each_hit_is_one_attack_and_a_ringing_tail_is_none():
    """A 40 Hz body dips at each zero crossing of the 1 ms envelope; measured against those
    dips it used to read as a new attack every 100 ms."""
    audio = _kit([0.25, 1.0, 1.6])
    attacks = find_attacks(peak_envelope_db(audio, RATE))
    assert [round(a / 1000, 2) for a in attacks] == [0.25, 1.0, 1.6]


def test_a_steady_low_drone_has_no_attack_after_its_start():
    t = np.arange(3 * RATE) / RATE
    drone = (0.5 * np.sin(2 * np.pi * 45 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))).astype(
        np.float32
    )
    assert find_attacks(peak_envelope_db(drone, RATE)) == [0]  # the file starts sounding
    assert find_attacks(peak_envelope_db(drone, RATE), quiet_before=False) == []


def test_a_clip_cut_mid_sound_has_no_attack_at_its_first_block_but_keeps_later_hits():
    audio = _kit([0.0, 0.7])[int(0.05 * RATE) :]  # starts inside the first hit's tail
    envelope = peak_envelope_db(audio, RATE)
    assert find_attacks(envelope, quiet_before=False) == [650]
    assert find_attacks(envelope)[0] == 0  # read as a file's start, it starts with a hit


def test_a_slow_rise_within_a_few_ms_is_still_an_attack():
    audio = _kit([0.5])
    start = int(0.5 * RATE)
    ramp = np.linspace(0.0, 1.0, int(0.004 * RATE), dtype=np.float32)  # a 4 ms fade-in
    audio[start : start + len(ramp)] *= ramp
    attacks = find_attacks(peak_envelope_db(audio, RATE))
    assert len(attacks) == 1 and 500 <= attacks[0] <= 504


def test_a_copy_reads_its_level_change_and_a_smeared_onset_rises_later():
    audio = _kit([0.3, 1.2])
    same = compare_attacks(audio, audio.copy(), RATE)
    assert same.peak_error_db == [0.0, 0.0] and same.mean_rise_smear_ms == 0.0
    quieter = compare_attacks(audio, audio * 10 ** (-6 / 20), RATE)
    assert np.allclose(quieter.peak_error_db, -6.0, atol=0.01)
    # each onset smeared into a 25 ms fade-in: the hits come back lower and rise later
    smeared = audio.copy()
    fade = np.linspace(0.0, 1.0, int(0.025 * RATE), dtype=np.float32)
    for at in (0.3, 1.2):
        start = int(at * RATE)
        smeared[start : start + len(fade)] *= fade
    spread = compare_attacks(audio, smeared, RATE)
    assert all(error < -1.0 for error in spread.peak_error_db)
    assert spread.mean_rise_smear_ms > 10.0
