"""Attacks: where a sound's hits start, and how a copy keeps their peak level and sharpness.

A codec that smears an onset over its synthesis window lowers the hit's peak and lengthens its
rise; these measurements put numbers on both, on the original's attacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENVELOPE_MS = 1.0  # the peak envelope's resolution
_FLOOR_DB = -120.0


@dataclass(frozen=True)
class AttackComparison:
    """How a copy renders the original's attacks (one entry per attack found in the original)."""

    peak_error_db: list[float]  # copy's attack peak minus original's (negative: hits come back low)
    rise_ms_original: list[float]
    rise_ms_copy: list[float]

    @property
    def mean_abs_peak_error_db(self) -> float:
        return float(np.mean(np.abs(self.peak_error_db))) if self.peak_error_db else float("nan")

    @property
    def mean_rise_smear_ms(self) -> float:
        """How much longer the copy's attacks take to rise, on average (0: as sharp)."""
        if not self.rise_ms_copy:
            return float("nan")
        return float(np.mean(np.subtract(self.rise_ms_copy, self.rise_ms_original)))


def peak_envelope_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples,) -> (blocks,) the peak |sample| in dBFS per ENVELOPE_MS block."""
    block = max(1, int(round(sample_rate * ENVELOPE_MS / 1000)))
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    usable = len(audio) // block * block
    if usable == 0:
        return np.zeros(0)
    peaks = np.abs(audio[:usable]).reshape(-1, block).max(axis=1)
    return 20 * np.log10(np.maximum(peaks, 10 ** (_FLOOR_DB / 20)))


def find_attacks(
    envelope_db: np.ndarray,
    *,
    min_level_db: float = -40.0,
    min_rise_db: float = 12.0,
    rise_ms: int = 5,
    hold_ms: int = 20,
    min_gap_ms: int = 100,
    quiet_before: bool = True,
) -> list[int]:
    """Envelope blocks where a hit starts: the level reaches `min_level_db` and stands
    `min_rise_db` above the loudest block of the `hold_ms` that ended `rise_ms` before (so an
    attack may take a few ms to rise); attacks closer than `min_gap_ms` merge.

    The loudest block, not the quietest: a 1 ms peak envelope dips at every zero crossing of a
    low tone, and measured against its dips a drone or a kick's tail "attacked" every 100 ms
    (experiments/RESULTS.md, "the attack measure"). `quiet_before`: the sound is silent before
    its first block (a file's start); otherwise (a clip cut from the middle of a sound) no block
    counts until a whole look-back lies inside it."""
    attacks: list[int] = []
    reach = rise_ms + hold_ms
    for index in range(0 if quiet_before else reach, len(envelope_db)):
        before = envelope_db[max(0, index - reach) : max(0, index - rise_ms)]
        previous = float(before.max()) if before.size else _FLOOR_DB
        if envelope_db[index] < min_level_db or envelope_db[index] - previous < min_rise_db:
            continue
        if attacks and index - attacks[-1] < min_gap_ms:
            continue
        attacks.append(index)
    return attacks


def _rise_ms(envelope_db: np.ndarray, start: int, peak_at: int, drop_db: float = 20.0) -> float:
    """Blocks from the first one within `drop_db` of the peak to the peak (one block = 1 ms)."""
    threshold = envelope_db[peak_at] - drop_db
    first = next(i for i in range(start, peak_at + 1) if envelope_db[i] >= threshold)
    return float(peak_at - first) * ENVELOPE_MS


def compare_attacks(
    original: np.ndarray,
    copy: np.ndarray,
    sample_rate: int,
    *,
    window_ms: int = 30,
    quiet_before: bool = True,
) -> AttackComparison:
    """Peak level and rise time of every attack of `original`, and of `copy` at the same place.

    Each attack's window runs from 10 ms before the detected start (a smeared copy starts early)
    to `window_ms` after it. `quiet_before`: as in `find_attacks` (False for a clip cut from the
    middle of a recording).
    """
    env_original = peak_envelope_db(original, sample_rate)
    env_copy = peak_envelope_db(copy, sample_rate)
    length = min(len(env_original), len(env_copy))
    errors, rise_original, rise_copy = [], [], []
    for attack in find_attacks(env_original[:length], quiet_before=quiet_before):
        start, end = max(0, attack - 10), min(length, attack + window_ms)
        peak_original = start + int(np.argmax(env_original[start:end]))
        peak_copy = start + int(np.argmax(env_copy[start:end]))
        errors.append(float(env_copy[peak_copy] - env_original[peak_original]))
        rise_original.append(_rise_ms(env_original, start, peak_original))
        rise_copy.append(_rise_ms(env_copy, start, peak_copy))
    return AttackComparison(errors, rise_original, rise_copy)
