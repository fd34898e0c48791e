"""The seam measure of a loop: does its end flow into its start as smoothly as its music flows?

Played twice, a loop's seam is the point where its last sample meets its first. Two things are
compared with the loop's own material: the spectral flux across the seam (the change of spectrum
from the window just before a point to the window just after it) against the 95th percentile of
the same flux at every point inside the loop, and the sample step at the seam (a click) against
the 99th percentile of the steps between neighbouring samples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

FLUX_WINDOW_SECONDS = 0.02  # about one drum-hit attack: short enough to see a jump, long for pitch
FLUX_HOP_SECONDS = 0.005
FLUX_PERCENTILE = 95.0
STEP_PERCENTILE = 99.0
_CHUNK = 1024  # flux positions per FFT batch


@dataclass(frozen=True)
class SeamReport:
    """The seam of one loop against its own material (for stereo: the worse channel)."""

    seam_flux: float  # spectral flux across the seam of the loop played twice
    flux_p95: float  # the loop's own 95th percentile of flux inside it
    seam_step: float  # |first sample - last sample|
    step_p99: float  # the loop's own 99th percentile of |sample step|

    @property
    def flux_ok(self) -> bool:
        return _within(self.seam_flux, self.flux_p95)

    @property
    def step_ok(self) -> bool:
        return _within(self.seam_step, self.step_p99)

    @property
    def passed(self) -> bool:
        return self.flux_ok and self.step_ok

    @property
    def margin(self) -> float:
        """How close the seam comes to failing: the larger of its two ratios (pass <= 1)."""
        return max(_ratio(self.seam_flux, self.flux_p95), _ratio(self.seam_step, self.step_p99))

    def scaled(self, gain: float) -> SeamReport:
        """The report of the same loop times `gain`: every term is linear in the audio."""
        g = abs(float(gain))
        return SeamReport(
            self.seam_flux * g, self.flux_p95 * g, self.seam_step * g, self.step_p99 * g
        )


def _within(value: float, limit: float) -> bool:
    """value <= limit, but for rounding: a seam exactly as smooth as its material passes."""
    return value <= limit * (1.0 + 1e-9) + 1e-12


def _ratio(value: float, limit: float) -> float:
    if limit > 0:
        return value / limit
    return 0.0 if value <= 0 else float("inf")


def flux_window(sample_rate: int) -> int:
    """Samples in one flux analysis window at `sample_rate`."""
    return max(16, round(FLUX_WINDOW_SECONDS * sample_rate))


def flux_at(audio: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """Spectral flux at each position t of mono `audio` (samples,): the RMS difference between the
    magnitude spectra of audio[t - window : t] and audio[t : t + window] (Hann windows).

    Every position needs `window` samples on both sides."""
    positions = np.asarray(positions, dtype=np.int64)
    if not positions.size:
        return np.empty(0)
    views = _windows(audio, window, int(positions.min()), int(positions.max()))
    flux = np.empty(len(positions))
    for first in range(0, len(positions), _CHUNK):  # in chunks: memory stays flat on long loops
        chunk = positions[first : first + _CHUNK]
        flux[first : first + _CHUNK] = flux_between(views[chunk - window], views[chunk])
    return flux


def flux_every(audio: np.ndarray, positions: np.ndarray, window: int) -> np.ndarray:
    """`flux_at` for evenly spaced `positions`. When their spacing divides `window`, each
    window's spectrum is taken once and serves as the window after one position and the window
    before a later one: half the FFTs of `flux_at`, the same values."""
    positions = np.asarray(positions, dtype=np.int64)
    hop = int(positions[1] - positions[0]) if len(positions) > 1 else 0
    if hop <= 0 or window % hop or np.any(np.diff(positions) != hop):
        return flux_at(audio, positions, window)
    views = _windows(audio, window, int(positions[0]), int(positions[-1]))
    starts = np.arange(positions[0] - window, positions[-1] + 1, hop)  # every window read
    spectra = np.empty((len(starts), window // 2 + 1), dtype=np.float32)
    for first in range(0, len(starts), _CHUNK):  # in chunks: memory stays flat on long loops
        spectra[first : first + _CHUNK] = _magnitudes(views[starts[first : first + _CHUNK]])
    lag = window // hop  # the window after a position starts `lag` windows after the one before
    return _rms_difference(spectra[: len(positions)], spectra[lag : lag + len(positions)])


def flux_between(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Spectral flux from each row of `before` (rows, window) to the same row of `after`: the RMS
    difference of their magnitude spectra (Hann windows)."""
    return _rms_difference(_magnitudes(before), _magnitudes(after))


def _windows(audio: np.ndarray, window: int, first: int, last: int) -> np.ndarray:
    """Every `window`-sample stretch of mono `audio` (float32), row t starting at sample t: a
    view, read only where a position asks for it; positions first..last must have `window`
    samples on both sides."""
    audio = np.asarray(audio, dtype=np.float32)
    if first < window or last > len(audio) - window:
        raise ValueError(f"flux positions need {window} samples of audio on both sides")
    return sliding_window_view(audio, window)


def _magnitudes(frames: np.ndarray) -> np.ndarray:
    """Magnitude spectra of Hann-windowed rows (rows, window), in float32: a loop's seam is
    measured thousands of windows at a time, and float32 FFTs took half the time of float64 ones
    for the same pass or fail (relative differences ~1e-7)."""
    windowed = np.asarray(frames, dtype=np.float32) * _hann(frames.shape[-1])
    return np.abs(scipy.fft.rfft(windowed, axis=-1))


@functools.lru_cache(maxsize=8)
def _hann(length: int) -> np.ndarray:
    return np.hanning(length).astype(np.float32)


def _rms_difference(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((after - before) ** 2, axis=-1))


def _channel_seam(loop: np.ndarray, sample_rate: int) -> SeamReport:
    window = flux_window(sample_rate)
    hop = max(1, round(FLUX_HOP_SECONDS * sample_rate))
    inside = np.arange(window, len(loop) - window + 1, hop)
    twice = np.concatenate([loop, loop])
    seam_flux = float(flux_at(twice, np.array([len(loop)]), window)[0])
    steps = np.abs(np.diff(loop.astype(np.float64)))
    return SeamReport(
        seam_flux=seam_flux,
        flux_p95=float(np.percentile(flux_every(loop, inside, window), FLUX_PERCENTILE)),
        seam_step=float(abs(float(loop[0]) - float(loop[-1]))),
        step_p99=float(np.percentile(steps, STEP_PERCENTILE)),
    )


def measure_seam(loop: np.ndarray, sample_rate: int) -> SeamReport:
    """The seam measure of a loop (samples,) or (channels, samples): it passes when the flux across
    the seam is at most the loop's own 95th percentile and the seam step at most its 99th
    percentile step. A loop must last at least four flux windows (80 ms)."""
    audio = np.asarray(loop, dtype=np.float64)
    channels = audio[None, :] if audio.ndim == 1 else audio
    if channels.ndim != 2 or channels.shape[1] < 4 * flux_window(sample_rate):
        raise ValueError(
            f"a loop must be (samples,) or (channels, samples) and last at least "
            f"{4 * FLUX_WINDOW_SECONDS:.2f} s to measure its seam, got shape {audio.shape}"
        )
    reports = [_channel_seam(channel, sample_rate) for channel in channels]
    return max(reports, key=lambda report: report.margin)


def uniform_gain(audio: np.ndarray, reference: np.ndarray) -> float | None:
    """The one gain g with `audio` == g * `reference` (to float32 rounding), or None where
    `audio` is more than a gain of it (filtered, limited, another length)."""
    audio = np.asarray(audio, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if audio.shape != reference.shape:
        return None
    energy = float(np.vdot(reference, reference))
    if energy == 0.0:
        return 1.0 if not np.any(audio) else None
    gain = float(np.vdot(reference, audio)) / energy
    tolerance = 1e-6 * max(float(np.max(np.abs(audio))), 1e-30)
    return gain if float(np.max(np.abs(audio - gain * reference))) <= tolerance else None
