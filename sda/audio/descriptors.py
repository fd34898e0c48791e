"""Measured musical descriptors (the controls' meaning) and their normalisation to 0..1.

`analyse` turns a whole recording into per-frame raw quantities once; `aggregate` reads any chunk of
it cheaply (the prior's training windows), and `measure` does both for one clip (the benchmark's
check on generated audio). Raw units: brightness = log2 spectral centroid (Hz), warmth = dB of energy
below 300 Hz over energy above 3 kHz, roughness = spectral flatness (dB), tension = sensory dissonance
of the spectral peaks (Plomp-Levelt / Sethares), density = onsets per second, loudness = RMS dBFS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft  # keeps float32 in float32: 3-4x numpy's float64 FFT on the 8192-point frames

CONTROL_NAMES = ("brightness", "warmth", "roughness", "tension", "density", "loudness")

HOP = 512
N_FFT = 2048
TENSION_FFT = 8192  # long window: peaks a semitone apart must resolve for the dissonance estimate
WARM_BELOW_HZ, BRIGHT_ABOVE_HZ = 300.0, 3000.0
TINY = 1e-12
BLOCK_FRAMES = 512  # analysis frames per block, bounding memory on long files


@dataclass
class DescriptorFrames:
    """Raw per-frame quantities of one recording (frame i covers samples around i * hop)."""

    sample_rate: int
    hop: int
    power: np.ndarray  # (frames,) spectral power
    centroid_power: np.ndarray  # (frames,) sum of frequency * power
    low: np.ndarray  # (frames,) power below WARM_BELOW_HZ
    high: np.ndarray  # (frames,) power above BRIGHT_ABOVE_HZ
    flatness_db: np.ndarray  # (frames,)
    dissonance: np.ndarray  # (frames,)
    onsets: np.ndarray  # (frames,) bool
    mean_square: np.ndarray  # (frames,) of the waveform


def _frames(audio: np.ndarray, n_fft: int, start: int, count: int) -> np.ndarray:
    """(count, n_fft) centred frames starting at analysis frame `start`, zero beyond the edges."""
    padded_start = start * HOP - n_fft // 2
    length = (count - 1) * HOP + n_fft
    segment = np.zeros(length, dtype=np.float32)
    lo, hi = max(padded_start, 0), min(padded_start + length, len(audio))
    if hi > lo:
        segment[lo - padded_start : hi - padded_start] = audio[lo:hi]
    return np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::HOP][:count]


def _dissonance(magnitude: np.ndarray, freqs: np.ndarray, peaks: int = 16) -> np.ndarray:
    """(frames, bins) magnitude -> (frames,) amplitude-weighted Sethares dissonance of the peaks."""
    inner = magnitude[:, 1:-1]
    is_peak = (inner > magnitude[:, :-2]) & (inner >= magnitude[:, 2:]) & (freqs[None, 1:-1] > 30.0)
    is_peak &= inner > 0.01 * magnitude.max(axis=1, keepdims=True)  # -40 dB from the frame's peak
    strength = np.where(is_peak, inner, 0.0)
    top = np.argpartition(-strength, min(peaks, strength.shape[1] - 1), axis=1)[:, :peaks]
    amp = np.take_along_axis(strength, top, axis=1)  # (frames, peaks), zero for non-peaks
    freq = freqs[1:-1][top]
    f_lo = np.minimum(freq[:, :, None], freq[:, None, :])
    gap = np.abs(freq[:, :, None] - freq[:, None, :]) * 0.24 / (0.0207 * f_lo + 18.96)
    curve = np.exp(-3.5 * gap) - np.exp(-5.75 * gap)  # the Plomp-Levelt roughness of one pair
    pairs = amp[:, :, None] * amp[:, None, :] * curve
    return 0.5 * pairs.sum(axis=(1, 2)) / np.maximum((amp**2).sum(axis=1), TINY)


def _band_matrix(freqs: np.ndarray, bands: int = 40) -> np.ndarray:
    """(bins, bands) log-spaced band summation for the onset detector."""
    edges = np.geomspace(40.0, 16000.0, bands + 1)
    index = np.clip(np.searchsorted(edges, freqs) - 1, -1, bands)
    matrix = np.zeros((len(freqs), bands), dtype=np.float32)
    inside = (index >= 0) & (index < bands)
    matrix[np.nonzero(inside)[0], index[inside]] = 1.0
    return matrix


def _pick_onsets(flux: np.ndarray, level_db: np.ndarray) -> np.ndarray:
    """Peaks of the spectral flux that stand out from their neighbourhood (and are not silence)."""
    n = len(flux)
    if n == 0:
        return np.zeros(0, dtype=bool)
    padded = np.pad(flux, 16, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 33)  # (n, 33)
    local_max = flux >= windows[:, 14:19].max(axis=1)
    local_median = np.median(windows, axis=1)
    return local_max & (flux > local_median + 4.0) & (flux > 6.0) & (level_db > -60.0)


def _block_dissonance(
    audio: np.ndarray,
    start: int,
    count: int,
    long_window: np.ndarray,
    long_freqs: np.ndarray,
    stride: int = 1,
) -> np.ndarray:
    """Dissonance of analysis frames start..start + count from TENSION_FFT frames; with
    `stride` > 1 one per group of `stride` frames, read at the group's middle."""
    long_frames = _frames(audio, TENSION_FFT, start, count)
    if stride > 1:
        long_frames = long_frames[np.minimum(np.arange(0, count, stride) + stride // 2, count - 1)]
    return _dissonance(np.abs(scipy.fft.rfft(long_frames * long_window, axis=1)), long_freqs)


def measure_tension(audio: np.ndarray, sample_rate: int, *, stride: int = 1) -> float:
    """The raw tension of one clip, as `measure` gives it, without the other five descriptors:
    steering by tension measures every candidate's chunk, and the rest of the analysis (onsets'
    medians, flatness' logarithms) is most of its cost. `stride` > 1 measures the dissonance
    (the long frames, most of the cost) on every stride-th analysis frame only, weighted by the
    power of the `stride` frames it stands for: an estimate of the same value (the 8,192-point
    frames overlap 16-fold at stride 1)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=0)
    total = max(1, -(-len(audio) // HOP))
    window = np.hanning(N_FFT).astype(np.float32)
    long_window = np.blackman(TENSION_FFT).astype(np.float32)
    long_freqs = np.fft.rfftfreq(TENSION_FFT, 1.0 / sample_rate)
    power, dissonance = [], []
    for start in range(0, total, BLOCK_FRAMES):  # BLOCK_FRAMES is a multiple of any stride used
        count = min(BLOCK_FRAMES, total - start)
        spectrum = scipy.fft.rfft(_frames(audio, N_FFT, start, count) * window, axis=1)
        frame_power = (np.abs(spectrum) ** 2 / (window**2).sum()).sum(axis=1)
        # each read frame weighs with the power of the `stride` frames it stands for
        power.append(np.add.reduceat(frame_power, np.arange(0, count, stride)))
        dissonance.append(_block_dissonance(audio, start, count, long_window, long_freqs, stride))
    weights = np.concatenate(power)
    weights = weights / max(float(weights.sum()), TINY)
    return float((weights * np.concatenate(dissonance)).sum())


def analyse(audio: np.ndarray, sample_rate: int) -> DescriptorFrames:
    """Per-frame raw quantities of a mono (samples,) or (channels, samples) float recording."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=0)
    total = max(1, -(-len(audio) // HOP))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)
    long_freqs = np.fft.rfftfreq(TENSION_FFT, 1.0 / sample_rate)
    window = np.hanning(N_FFT).astype(np.float32)
    long_window = np.blackman(TENSION_FFT).astype(np.float32)
    bands = _band_matrix(freqs)
    low_bins, high_bins = freqs < WARM_BELOW_HZ, freqs > BRIGHT_ABOVE_HZ
    keys = ("p", "c", "lo", "hi", "fl", "d", "b", "ms", "lv")
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for start in range(0, total, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, total - start)
        frames = _frames(audio, N_FFT, start, count)
        windowed = frames * window
        power = np.abs(scipy.fft.rfft(windowed, axis=1)) ** 2 / (window**2).sum()
        parts["lv"].append((windowed.astype(np.float64) ** 2).sum(axis=1) / (window**2).sum())
        parts["p"].append(power.sum(axis=1))
        parts["c"].append(power @ freqs)
        parts["lo"].append(power[:, low_bins].sum(axis=1))
        parts["hi"].append(power[:, high_bins].sum(axis=1))
        log_power = np.log(power + TINY)
        flatness = np.exp(log_power.mean(axis=1)) / (power.mean(axis=1) + TINY)
        parts["fl"].append(10.0 * np.log10(flatness + TINY))
        parts["b"].append(10.0 * np.log10(power @ bands + 1e-10))
        centre = frames[:, N_FFT // 2 - HOP // 2 : N_FFT // 2 + HOP // 2]
        parts["ms"].append((centre.astype(np.float64) ** 2).mean(axis=1))
        parts["d"].append(_block_dissonance(audio, start, count, long_window, long_freqs))
    joined = {key: np.concatenate(value) for key, value in parts.items()}
    band_db = np.maximum(joined["b"], -80.0)  # a floor, so silence-to-silence flicker is no onset
    flux = np.maximum(np.diff(band_db, axis=0, prepend=band_db[:1]), 0.0).mean(axis=1)
    level_db = 10.0 * np.log10(joined["lv"] + TINY)  # over the whole window, like the flux
    return DescriptorFrames(
        sample_rate=sample_rate,
        hop=HOP,
        power=joined["p"],
        centroid_power=joined["c"],
        low=joined["lo"],
        high=joined["hi"],
        flatness_db=joined["fl"],
        dissonance=joined["d"],
        onsets=_pick_onsets(flux, level_db),
        mean_square=joined["ms"],
    )


def aggregate(frames: DescriptorFrames, start: int = 0, end: int | None = None) -> np.ndarray:
    """Raw descriptors (6,) in CONTROL_NAMES order of the chunk samples[start:end]."""
    first = start // frames.hop
    last = len(frames.power) if end is None else max(first + 1, -(-end // frames.hop))
    chunk = slice(first, last)
    power = frames.power[chunk]
    weight = power / max(float(power.sum()), TINY)  # loud frames speak; silent ones don't
    centroid = float(frames.centroid_power[chunk].sum()) / max(float(power.sum()), TINY)
    seconds = max(last - first, 1) * frames.hop / frames.sample_rate
    return np.array(
        [
            np.log2(max(centroid, 20.0)),
            10.0 * np.log10((frames.low[chunk].sum() + TINY) / (frames.high[chunk].sum() + TINY)),
            float((weight * frames.flatness_db[chunk]).sum()) if power.sum() > TINY else -100.0,
            float((weight * frames.dissonance[chunk]).sum()),
            float(frames.onsets[chunk].sum()) / seconds,
            10.0 * np.log10(float(frames.mean_square[chunk].mean()) + 1e-10),
        ],
        dtype=np.float64,
    )


def measure(audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Raw descriptors of one clip, by name."""
    values = aggregate(analyse(audio, sample_rate))
    return {name: float(value) for name, value in zip(CONTROL_NAMES, values, strict=True)}


@dataclass
class DescriptorStats:
    """Per-control robust range over a training set: maps raw descriptors to 0..1 and back."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray, *, lower: float = 5.0, upper: float = 95.0) -> DescriptorStats:
        """From raw descriptors (windows, 6); percentiles, so a few odd windows don't stretch the range."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, len(CONTROL_NAMES))
        low = np.percentile(values, lower, axis=0)
        high = np.percentile(values, upper, axis=0)
        high = np.maximum(
            high, low + 1e-3
        )  # a constant descriptor still maps without dividing by 0
        return cls(low=tuple(map(float, low)), high=tuple(map(float, high)))

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """(..., 6) raw -> (..., 6) in 0..1 (clipped)."""
        low, high = np.asarray(self.low), np.asarray(self.high)
        return np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 0.0, 1.0)

    def denormalize(self, values: np.ndarray) -> np.ndarray:
        low, high = np.asarray(self.low), np.asarray(self.high)
        return low + np.asarray(values, dtype=np.float64) * (high - low)

    def to_dict(self) -> dict[str, list[float]]:
        return {
            name: [lo, hi] for name, lo, hi in zip(CONTROL_NAMES, self.low, self.high, strict=True)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DescriptorStats:
        missing = [name for name in CONTROL_NAMES if name not in data]
        if missing:
            raise ValueError(f"descriptor stats lack {', '.join(missing)}")
        return cls(
            low=tuple(float(data[name][0]) for name in CONTROL_NAMES),
            high=tuple(float(data[name][1]) for name in CONTROL_NAMES),
        )
