"""Low tones: whether a copy keeps the pitch and level of a sound's bass (a kick's body).

A codec's synthesis head may play a 36 Hz kick body at 94 Hz, its first bin, and spectral
distances barely notice: the body sits in one or two of a hundred mel bands. These measures name
it: the loudest frequency under `BELOW_HZ` of a clip's opening, original against copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sda.audio.tone_fidelity import power_spectrum

BELOW_HZ = 150.0  # a kick's body, a bass line's fundamental
ABOVE_HZ = 20.0  # below this, a recording's DC offset and rumble, not a tone
OPENING_SECONDS = 0.5  # a one-shot's body; any excerpt of a longer clip
LOW_SHARE = 0.25  # a clip counts when this share of its opening's energy lies below BELOW_HZ


@dataclass(frozen=True)
class LowTone:
    """A clip's loudest low frequency and the level of its low band (dB, relative)."""

    hz: float
    level_db: float


@dataclass(frozen=True)
class LowToneComparison:
    """How a copy renders the low tones of the clips whose opening is mostly bass."""

    pitch_error_semitones: list[float]  # copy's loudest low frequency against the original's
    level_error_db: list[float]  # copy's low band level minus the original's

    @property
    def median_abs_pitch_error(self) -> float:
        errors = self.pitch_error_semitones
        return float(np.median(np.abs(errors))) if errors else float("nan")


def low_tone(audio: np.ndarray, rate: int, *, any_share: bool = False) -> LowTone | None:
    """The loudest frequency from `ABOVE_HZ` to `BELOW_HZ` of the first `OPENING_SECONDS` (its
    DC offset removed), or None when that band holds less than `LOW_SHARE` of the opening's
    energy (no bass to speak of); `any_share`: whatever the share (a copy is judged where its
    original had bass)."""
    opening = np.asarray(audio, dtype=np.float64).reshape(-1)[: int(OPENING_SECONDS * rate)]
    if opening.size < 2:
        return None
    power, freqs = power_spectrum(opening, rate)
    low = (freqs >= ABOVE_HZ) & (freqs < BELOW_HZ)
    band = float(power[low].sum())
    if not any_share and (band <= 0 or band < LOW_SHARE * float(power.sum())):
        return None
    hz = float(freqs[low][np.argmax(power[low])])
    return LowTone(hz=hz, level_db=float(10 * np.log10(max(band, 1e-30))))


def compare_low_tones(
    originals: list[np.ndarray], copies: list[np.ndarray], rate: int
) -> LowToneComparison:
    """Pitch (semitones) and level (dB) errors of each copy's low tone, on the originals that
    have one."""
    pitch, level = [], []
    for original, copy in zip(originals, copies, strict=True):
        wanted = low_tone(original, rate)
        got = low_tone(copy, rate, any_share=True) if wanted is not None else None
        if wanted is None or got is None:
            continue
        pitch.append(float(12 * np.log2(got.hz / wanted.hz)))
        level.append(got.level_db - wanted.level_db)
    return LowToneComparison(pitch, level)
