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
    lookback_ms: int = 20,
    min_gap_ms: int = 100,
) -> list[int]:
    """Envelope blocks where a hit starts: the level jumps `min_rise_db` above where it was
    `lookback_ms` before and reaches `min_level_db`; attacks closer than `min_gap_ms` merge."""
    attacks: list[int] = []
    for index in range(len(envelope_db)):
        before = envelope_db[max(0, index - lookback_ms) : index]
        previous = float(before.min()) if before.size else _FLOOR_DB
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
    original: np.ndarray, copy: np.ndarray, sample_rate: int, *, window_ms: int = 30
) -> AttackComparison:
    """Peak level and rise time of every attack of `original`, and of `copy` at the same place.

    Each attack's window runs from 10 ms before the detected start (a smeared copy starts early)
    to `window_ms` after it.
    """
    env_original = peak_envelope_db(original, sample_rate)
    env_copy = peak_envelope_db(copy, sample_rate)
    length = min(len(env_original), len(env_copy))
    errors, rise_original, rise_copy = [], [], []
    for attack in find_attacks(env_original[:length]):
        start, end = max(0, attack - 10), min(length, attack + window_ms)
        peak_original = start + int(np.argmax(env_original[start:end]))
        peak_copy = start + int(np.argmax(env_copy[start:end]))
        errors.append(float(env_copy[peak_copy] - env_original[peak_original]))
        rise_original.append(_rise_ms(env_original, start, peak_original))
        rise_copy.append(_rise_ms(env_copy, start, peak_copy))
    return AttackComparison(errors, rise_original, rise_copy)
