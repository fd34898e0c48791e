"""How a stereo take survives a mono downmix: the level the downmix keeps, and L/R correlation.

A phone speaker, a club's mono PA or a radio in mono plays (L + R) / 2. Parts of the image out of
phase between the channels cancel there. `downmix_db` compares the downmix's energy with the mean
energy of the two channels: 0 dB for identical channels, about -3 dB for unrelated ones (normal
for a wide sound), far below for phase-inverted material (the sound disappears in mono).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sda.audio.spatial import SpatialError

FLOOR_DB = -120.0  # what a downmix that cancels completely reports
CANCELLING_DB = -6.0  # below this, mono listeners lose a clear part of the sound
TINY = 1e-20


@dataclass(frozen=True)
class MonoCompatibility:
    """A stereo take's mono figures."""

    downmix_db: float  # energy of (L + R) / 2 over the mean energy of L and R, dB (0 = mono)
    correlation: float  # L/R correlation at lag 0: +1 identical, 0 unrelated, -1 inverted

    @property
    def cancels(self) -> bool:
        """Whether a mono downmix loses a clear part of the sound (phase cancellation)."""
        return self.downmix_db < CANCELLING_DB or self.correlation < -0.1

    def describe(self) -> str:
        """One line for a musician."""
        verdict = (
            "parts cancel in mono: check the phase of the two channels"
            if self.cancels
            else "mono-compatible"
        )
        return f"mono downmix {self.downmix_db:+.1f} dB, L/R correlation {self.correlation:+.2f}: {verdict}"


def mono_compatibility(stereo: np.ndarray) -> MonoCompatibility:
    """The mono figures of a (2, samples) take; a silent take counts as mono (0 dB, 1)."""
    audio = np.asarray(stereo, dtype=np.float64)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise SpatialError(
            f"Mono compatibility needs stereo audio (2, samples), got {audio.shape}."
        )
    left, right = audio
    channels = (np.sum(left**2) + np.sum(right**2)) / 2
    if channels <= TINY:
        return MonoCompatibility(downmix_db=0.0, correlation=1.0)
    downmix = np.sum(((left + right) / 2) ** 2)
    ratio = downmix / channels
    db = 10 * math.log10(ratio) if ratio > 10 ** (FLOOR_DB / 10) else FLOOR_DB
    correlation = np.sum(left * right) / math.sqrt(np.sum(left**2) * np.sum(right**2) + TINY)
    return MonoCompatibility(downmix_db=float(db), correlation=float(np.clip(correlation, -1, 1)))
