"""Rendering a take's tone: brightness and warmth brought to the setting by a gentle EQ.

The prior is conditioned on brightness and warmth, but after a few thousand CPU steps it follows
them loosely (experiments/RESULTS.md, "## Prior"), and best-of-N candidates cost N decodes. Both
descriptors are properties of a take's long-term spectrum (`sda.audio.descriptors`: brightness is
the log2 spectral centroid of its total power, warmth the dB of power below 300 Hz over power
above 3 kHz), so a smooth EQ moves them predictably: a tilt (dB per octave about 1 kHz) for
brightness, a pair of opposite shelves (lows up, highs down) for warmth. The EQ is solved on the
take's own spectrum to land on the descriptor the setting asks for, within MAX_TILT_DB_PER_OCTAVE
and MAX_SHELF_DB, as a producer would reach for the tone controls: what the prior made stays,
only its balance moves. No brightness or warmth control: the take is left as decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.fft

from sda.audio.descriptors import BRIGHT_ABOVE_HZ, CONTROL_NAMES, N_FFT, WARM_BELOW_HZ
from sda.generate.curves import ControlValue, curve_mean, keyframes
from sda.generate.steering import bundle_stats

MAX_TILT_DB_PER_OCTAVE = 3.0
MAX_SHELF_DB = 12.0
MAX_GAIN_DB = 18.0  # no frequency is raised or cut by more, whatever the two ask together
PIVOT_HZ = 1000.0
PAD_SAMPLES = 16_384  # zeros around a take filtered whole, so its end never rings into its start
TINY = 1e-20
BRIGHTNESS, WARMTH = CONTROL_NAMES.index("brightness"), CONTROL_NAMES.index("warmth")


def _tilt_db(freqs: np.ndarray) -> np.ndarray:
    """dB per unit of tilt: octaves from the pivot (below 20 Hz counts as 20 Hz)."""
    return np.log2(np.maximum(freqs, 20.0) / PIVOT_HZ)


def _shelves_db(freqs: np.ndarray) -> np.ndarray:
    """dB per unit of warmth: +1/2 below 300 Hz, -1/2 above 3 kHz, a straight line on log
    frequency between them."""
    position = np.log2(np.maximum(freqs, 20.0) / WARM_BELOW_HZ)
    span = np.log2(BRIGHT_ABOVE_HZ / WARM_BELOW_HZ)
    return 0.5 - np.clip(position / span, 0.0, 1.0)


def eq_db(freqs: np.ndarray, tilt: float, shelf: float) -> np.ndarray:
    """The EQ curve (dB) at `freqs`: `tilt` dB per octave about 1 kHz, `shelf` dB of warmth."""
    curve = tilt * _tilt_db(freqs) + shelf * _shelves_db(freqs)
    return np.clip(curve, -MAX_GAIN_DB, MAX_GAIN_DB)


def _long_term_power(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(power per bin summed over hann frames, bin frequencies in cycles per sample * rate = 1)."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    hop = N_FFT // 4
    if mono.size < N_FFT:
        mono = np.pad(mono, (0, N_FFT - mono.size))
    frames = np.lib.stride_tricks.sliding_window_view(mono, N_FFT)[::hop]
    spectrum = scipy.fft.rfft(frames * np.hanning(N_FFT).astype(np.float32), axis=1)
    return (np.abs(spectrum) ** 2).sum(axis=0), np.fft.rfftfreq(N_FFT)


def _descriptors(power: np.ndarray, freqs_hz: np.ndarray, curve_db: np.ndarray) -> np.ndarray:
    """(brightness, warmth) raw of a spectrum with `curve_db` applied, as descriptors.measure
    reads them."""
    shaped = power * 10.0 ** (curve_db / 10.0)
    centroid = float((shaped * freqs_hz).sum() / max(shaped.sum(), TINY))
    low = shaped[freqs_hz < WARM_BELOW_HZ].sum()
    high = shaped[freqs_hz > BRIGHT_ABOVE_HZ].sum()
    return np.array([np.log2(max(centroid, 20.0)), 10.0 * np.log10((low + TINY) / (high + TINY))])


def _solve(measure_at, target: float, bound: float) -> float:
    """The setting in [-bound, bound] whose (increasing) `measure_at` is nearest `target`."""
    low, high = -bound, bound
    if measure_at(high) <= target:
        return high
    if measure_at(low) >= target:
        return low
    for _ in range(30):  # bisection: 30 halvings of a few dB are far below hearing
        middle = (low + high) / 2
        low, high = (middle, high) if measure_at(middle) < target else (low, middle)
    return (low + high) / 2


def solve_eq(
    power: np.ndarray, freqs_hz: np.ndarray, brightness: float | None, warmth: float | None
) -> tuple[float, float]:
    """(tilt dB/octave, shelf dB) that bring the spectrum's raw brightness and warmth to those
    asked (None: not asked). Brightness rises with tilt, warmth with shelf; asked together they
    are solved in turns (each nearly leaves the other alone)."""
    tilt = shelf = 0.0
    for _ in range(12 if brightness is not None and warmth is not None else 1):
        if brightness is not None:
            tilt = _solve(
                lambda t, s=shelf: _descriptors(power, freqs_hz, eq_db(freqs_hz, t, s))[0],
                brightness,
                MAX_TILT_DB_PER_OCTAVE,
            )
        if warmth is not None:
            shelf = _solve(
                lambda s, t=tilt: _descriptors(power, freqs_hz, eq_db(freqs_hz, t, s))[1],
                warmth,
                MAX_SHELF_DB,
            )
    return tilt, shelf


def asked_setting(controls: Mapping[str, ControlValue], name: str) -> float | None:
    """A control's mean setting over the take (a curve's mean), or None when not set."""
    value = controls.get(name)
    if value is None:
        return None
    return curve_mean(keyframes(name, value))


def set_tone(
    models: Any,
    audio: np.ndarray,
    controls: Mapping[str, ControlValue] | None = None,
    *,
    circular: bool = False,
) -> np.ndarray:
    """Decoded audio (samples,) or (2, samples) with brightness and warmth EQ'd to the settings
    (both channels alike); as decoded without those controls or without descriptor statistics.
    `circular`: a loop, filtered as one turn of itself (its seam stays a seam)."""
    audio = np.asarray(audio, dtype=np.float32)
    controls = controls or {}
    asked = {name: asked_setting(controls, name) for name in ("brightness", "warmth")}
    stats = bundle_stats(models)
    if stats is None or all(v is None for v in asked.values()) or audio.shape[-1] == 0:
        return audio
    rate = int(models.codec.config.sample_rate)
    raw = {
        name: None if value is None else float(stats.denormalize(np.full(6, value))[index])
        for (name, value), index in zip(asked.items(), (BRIGHTNESS, WARMTH), strict=True)
    }
    power, freqs = _long_term_power(audio)
    tilt, shelf = solve_eq(power, freqs * rate, raw["brightness"], raw["warmth"])
    return apply_eq(audio, rate, tilt, shelf, circular=circular)


def apply_eq(
    audio: np.ndarray, rate: int, tilt: float, shelf: float, *, circular: bool = False
) -> np.ndarray:
    """`audio` (..., samples) through the zero-phase EQ `eq_db(tilt, shelf)`."""
    if tilt == 0.0 and shelf == 0.0:
        return audio
    length = audio.shape[-1]
    # Linear filtering pads the take with zeros up to a length the FFT factors well: a 20 s take
    # plus the pad was 2^9 x 1907 samples, which took numpy 0.3 s and scipy at a fast length
    # 0.02 s (float32 in, float32 out). A loop is filtered at its own length: circular.
    size = length if circular else scipy.fft.next_fast_len(length + PAD_SAMPLES, real=True)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    gain = (10.0 ** (eq_db(freqs, tilt, shelf) / 20.0)).astype(np.float32)
    spectrum = scipy.fft.rfft(np.asarray(audio, dtype=np.float32), n=size, axis=-1)
    shaped = scipy.fft.irfft(spectrum * gain, n=size, axis=-1)
    return shaped[..., :length].astype(np.float32)
