"""Signal processing: resampling, mel spectrograms, loudness (BS.1770) and the mel distance metric.

Resampling is polyphase (scipy) with long Kaiser-windowed sincs: torchaudio's resampler builds a
kernel per output phase, which is fine for 44100 -> 48000 but takes minutes for rates such as
50854 -> 48000. Spectra and loudness use torchaudio, imported on first use so that scanning a
folder does not pay for loading torch.
"""

from __future__ import annotations

import sys
import warnings
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import TYPE_CHECKING

import numpy as np
import scipy.signal

if TYPE_CHECKING:
    import torch

# Ratios whose reduced numerator/denominator exceed this are approximated by the nearest fraction
# within it: the pitch error is below 1e-6 (far under a cent) and the filter stays small.
_MAX_POLYPHASE_FACTOR = 2048
_ZERO_CROSSINGS = 32  # sinc lobes per side: long enough for a steep, alias-free transition
_KAISER_BETA = 8.6  # ~ -86 dB stopband
_CUTOFF = 0.92  # of the lower Nyquist (varispeed filter)
_RATE_PASSBAND = 0.905  # of the lower Nyquist: flat to 20 kHz at 44.1 kHz (sample-rate filter)
_RATE_STOPBAND_DB = 110.0  # aliasing below -100 dB

MEL_DISTANCE_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_DISTANCE_BANDS = (5, 10, 20, 40, 80, 160, 320)
_MEL_FLOOR = 1e-5


def rational_ratio(orig_rate: int, new_rate: int) -> tuple[int, int]:
    """(up, down) for polyphase resampling, exact when small, else the closest small fraction."""
    divisor = gcd(int(orig_rate), int(new_rate))
    up, down = int(new_rate) // divisor, int(orig_rate) // divisor
    if max(up, down) > _MAX_POLYPHASE_FACTOR:
        ratio = Fraction(up, down).limit_denominator(_MAX_POLYPHASE_FACTOR)
        while max(ratio.numerator, ratio.denominator) > _MAX_POLYPHASE_FACTOR:
            ratio = Fraction(up, down).limit_denominator(ratio.denominator // 2)
        up, down = ratio.numerator, ratio.denominator
    return up, down


@lru_cache(maxsize=32)
def polyphase_filter(up: int, down: int) -> np.ndarray:
    """The varispeed filter (`resample_by_ratio`): short, ~ -86 dB; training augments with it."""
    largest = max(up, down)
    taps = 2 * _ZERO_CROSSINGS * largest + 1
    return scipy.signal.firwin(taps, _CUTOFF / largest, window=("kaiser", _KAISER_BETA)).astype(
        np.float32
    )


@lru_cache(maxsize=32)
def rate_filter(up: int, down: int) -> np.ndarray:
    """The sample-rate filter (`resample`): Kaiser low-pass flat to 0.905 of the lower Nyquist
    (20 kHz at 44.1 kHz) and -110 dB from the lower Nyquist on, so nothing folds back into the
    band, whether a file is read for training or a take is exported."""
    stop = 1.0 / max(up, down)  # the lower Nyquist, relative to the upsampled Nyquist
    passband = _RATE_PASSBAND * stop
    taps, beta = scipy.signal.kaiserord(_RATE_STOPBAND_DB, stop - passband)
    return scipy.signal.firwin(taps | 1, (passband + stop) / 2, window=("kaiser", beta))


def resample_by_ratio(
    audio: np.ndarray, up: int, down: int, *, window: np.ndarray | None = None
) -> np.ndarray:
    """Polyphase resampling along the last axis by up/down (e.g. 17/16 for varispeed).

    `window` is the low-pass filter (default: the varispeed filter)."""
    if up == down:
        return np.asarray(audio, dtype=np.float32)
    out = scipy.signal.resample_poly(
        np.asarray(audio, dtype=np.float32),
        up,
        down,
        axis=-1,
        window=polyphase_filter(up, down) if window is None else window,
    )
    return out.astype(np.float32, copy=False)


def resample(audio: np.ndarray | torch.Tensor, orig_rate: int, new_rate: int):
    """Change the sample rate along the last axis; returns the input's type (numpy or torch).

    The one sample-rate converter: reading files and exporting takes both use it. Output length
    is round(samples * new_rate / orig_rate) even when the ratio is approximated.
    """
    if int(orig_rate) == int(new_rate):
        return audio
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    torch = sys.modules.get("torch")  # a tensor can only exist if torch is already imported
    is_tensor = torch is not None and isinstance(audio, torch.Tensor)
    array = audio.detach().cpu().numpy() if is_tensor else np.asarray(audio)
    samples = array.shape[-1]
    target = int(round(samples * int(new_rate) / int(orig_rate)))
    up, down = rational_ratio(orig_rate, new_rate)
    out = resample_by_ratio(array, up, down, window=rate_filter(up, down))
    if out.shape[-1] > target:
        out = out[..., :target]
    elif out.shape[-1] < target:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, target - out.shape[-1])]
        out = np.pad(out, pad)
    if is_tensor:
        return torch.from_numpy(np.ascontiguousarray(out)).to(
            device=audio.device, dtype=audio.dtype
        )
    return out


@lru_cache(maxsize=64)
def _mel_filters(
    n_fft: int, n_mels: int, sample_rate: int, f_min: float, f_max: float | None, slaney: bool
) -> torch.Tensor:
    import torchaudio.functional as AF

    with warnings.catch_warnings():
        # Many bands on a short window leave some filters empty; they just read as zero.
        warnings.simplefilter("ignore")
        return AF.melscale_fbanks(
            n_fft // 2 + 1,
            f_min,
            f_max if f_max is not None else sample_rate / 2,
            n_mels,
            sample_rate,
            norm="slaney" if slaney else None,
            mel_scale="slaney" if slaney else "htk",
        )  # (freqs, mels)


def mel_spectrogram(
    audio: torch.Tensor,
    sample_rate: int,
    *,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    power: float = 1.0,
    slaney: bool = True,
    center: bool = True,
) -> torch.Tensor:
    """Mel spectrogram (..., samples) -> (..., n_mels, frames); power 1 = magnitude, 2 = power.

    Hann window of n_fft, reflect padding when centred; slaney mel scale and area-normalised
    filters (librosa's defaults) unless `slaney=False` (HTK, unnormalised).
    """
    import torch

    from sda.audio.magnitude import magnitude

    shape = audio.shape
    flat = audio.reshape(-1, shape[-1])  # (batch, samples)
    window = torch.hann_window(n_fft, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(
        flat,
        n_fft,
        hop_length=hop_length,
        window=window,
        center=center,
        pad_mode="reflect",
        return_complex=True,
    )
    spec = magnitude(spec)  # (batch, freqs, frames)
    if power != 1.0:
        spec = spec.pow(power)
    filters = _mel_filters(n_fft, n_mels, int(sample_rate), float(f_min), f_max, slaney)
    mel = torch.einsum("bft,fm->bmt", spec, filters.to(device=audio.device, dtype=spec.dtype))
    return mel.reshape(*shape[:-1], n_mels, mel.shape[-1])


def mel_distance_tensor(
    reference: torch.Tensor, estimate: torch.Tensor, sample_rate: int
) -> torch.Tensor:
    """Differentiable multi-scale mel distance (see `mel_distance`); inputs (..., samples)."""
    length = min(reference.shape[-1], estimate.shape[-1])
    reference, estimate = reference[..., :length], estimate[..., :length]
    total = reference.new_zeros(())
    for window, bands in zip(MEL_DISTANCE_WINDOWS, MEL_DISTANCE_BANDS, strict=True):
        kwargs = dict(n_fft=window, hop_length=window // 4, n_mels=bands)
        mel_ref = mel_spectrogram(reference, sample_rate, **kwargs)
        mel_est = mel_spectrogram(estimate, sample_rate, **kwargs)
        log_ref = mel_ref.clamp(min=_MEL_FLOOR).log10()
        log_est = mel_est.clamp(min=_MEL_FLOOR).log10()
        total = total + (log_ref - log_est).abs().mean()
    return total


def mel_distance(
    reference: torch.Tensor | np.ndarray, estimate: torch.Tensor | np.ndarray, sample_rate: int
) -> float:
    """The project's reconstruction metric (issue 3), lower is better.

    Sum over 7 scales (Hann windows 32..2048, hop window/4, 5..320 mel bands, magnitude) of
    mean |log10(max(mel_ref, 1e-5)) - log10(max(mel_est, 1e-5))|. Inputs (..., samples) are
    trimmed to the shorter length. For calibration: low-passing at 12 kHz scores ~1-2, silence
    against real audio ~17-22.
    """
    import torch

    reference = torch.as_tensor(
        np.asarray(reference) if not torch.is_tensor(reference) else reference
    )
    estimate = torch.as_tensor(np.asarray(estimate) if not torch.is_tensor(estimate) else estimate)
    with torch.no_grad():
        return float(
            mel_distance_tensor(
                reference.float(), estimate.float().to(reference.device), sample_rate
            )
        )


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4, gated) of (channels, samples) or (samples,) audio.

    Returns -inf for silence. Clips shorter than one 400 ms gating block are zero-padded to it.
    Six channels are read as 5.1 (the LFE, channel 4, is left out as the standard says); other
    layouts above five channels are folded into stereo first.
    """
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[0] == 6:
        array = array[[0, 1, 2, 4, 5]]
    elif array.shape[0] > 5:
        array = np.stack([array[0::2].mean(axis=0), array[1::2].mean(axis=0)])
    block = int(round(0.4 * sample_rate))
    if array.shape[-1] < block:
        array = np.pad(array, [(0, 0), (0, block - array.shape[-1])])
    if not np.any(array):
        return float("-inf")
    import torch
    import torchaudio.functional as AF

    with torch.no_grad():
        value = float(AF.loudness(torch.from_numpy(np.ascontiguousarray(array)), int(sample_rate)))
    return value if np.isfinite(value) else float("-inf")
