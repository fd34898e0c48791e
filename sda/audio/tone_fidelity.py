"""Tone fidelity: whether a copy plays a sustained sound's partials at their pitch.

A codec can score well on mel distances and still play a held note on the wrong frequencies: a
decoder whose output repeats every latent frame puts its energy on a comb of that frame rate
(46.875 Hz apart at 48 kHz and 1,024 samples a frame), and log-mel bands, a few semitones wide,
barely tell. This measure asks where the copy's energy lies: the share of it within a quarter
tone of the original's strongest partials, against the original's own share there.
"""

from __future__ import annotations

import numpy as np

PARTIALS = 5  # the original's strongest peaks that count
TOLERANCE = 2 ** (1 / 24) - 1  # a quarter tone, as a share of the partial's frequency
BAND_HZ = (40.0, 5000.0)  # where a tone's fundamental and first partials live
SKIP_SECONDS = 0.25  # past the attack, into the held part
SECONDS = 1.0
TONAL_SHARE = 0.3  # a clip counts when this share of its band's energy sits at its partials
_RESOLUTION_HZ = 0.5  # the spectrum is zero-padded to at least this fine a grid


def power_spectrum(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(power, frequencies) of a Hann-windowed clip without its DC, zero-padded to 0.5 Hz."""
    size = max(audio.size, int(np.ceil(rate / _RESOLUTION_HZ)))
    spectrum = np.fft.rfft((audio - audio.mean()) * np.hanning(audio.size), n=size)
    return np.abs(spectrum) ** 2, np.fft.rfftfreq(size, 1 / rate)


def strongest_partials(power: np.ndarray, freqs: np.ndarray, count: int = PARTIALS) -> list[float]:
    """The `count` loudest local maxima in `BAND_HZ`, each more than a quarter tone from any
    louder one."""
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    peaks = np.flatnonzero(band[1:-1] & (power[1:-1] > power[:-2]) & (power[1:-1] >= power[2:]))
    chosen: list[float] = []
    for index in peaks[np.argsort(power[peaks + 1])[::-1]] + 1:
        hz = float(freqs[index])
        if all(abs(hz - other) > other * TOLERANCE for other in chosen):
            chosen.append(hz)
        if len(chosen) == count:
            break
    return chosen


def tone_kept(original: np.ndarray, copy: np.ndarray, rate: int) -> float | None:
    """The copy's share of energy at the original's partials over the original's share (1: the
    same place; 0: none of it), on the held part of a clip; None when the clip is too short or
    not tonal (noise, a hit)."""
    start = int(SKIP_SECONDS * rate)
    end = start + int(SECONDS * rate)
    original = np.asarray(original, dtype=np.float64).reshape(-1)
    copy = np.asarray(copy, dtype=np.float64).reshape(-1)
    if min(original.size, copy.size) < end:
        return None
    wanted, freqs = power_spectrum(original[start:end], rate)
    got, _ = power_spectrum(copy[start:end], rate)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    partials = strongest_partials(wanted, freqs)
    if not partials or wanted[band].sum() <= 0:
        return None
    near = np.zeros_like(band)
    for hz in partials:
        near |= np.abs(freqs - hz) <= hz * TOLERANCE
    share = wanted[near & band].sum() / wanted[band].sum()
    if share < TONAL_SHARE:
        return None
    copy_share = got[near & band].sum() / max(got[band].sum(), 1e-30)
    return float(copy_share / share)


def tones_kept(originals: list[np.ndarray], copies: list[np.ndarray], rate: int) -> list[float]:
    """`tone_kept` of every clip that has a held tone."""
    kept = (tone_kept(o, c, rate) for o, c in zip(originals, copies, strict=True))
    return [value for value in kept if value is not None]
