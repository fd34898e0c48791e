"""Rendering a take's roughness: its spectral contrast brought to the setting.

Roughness is spectral flatness (`sda.audio.descriptors`: per frame, the geometric over the
arithmetic mean of the power spectrum, in dB, averaged with each frame's power as weight). By
conditioning alone a few thousand CPU steps follow it loosely (rho 0.50-0.66 on two drums
priors; the best of 4 guided takes reaches 0.95 at a quarter of the speed). Flatness is a
property of each frame's spectral shape, so one exponent moves it predictably: every STFT
magnitude raised to `contrast` (phases kept, each frame's energy kept) makes peaks stand out
above 1 (cleaner, more tonal) and evens them out below 1 (noisier, rougher). The exponent is
solved on the take's own frames to land on the flatness the setting asks for, within
MIN_CONTRAST..MAX_CONTRAST: what the prior played stays, only how noisy it sounds moves. Runs
before the tone EQ, which then sets brightness and warmth on the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from sda.audio.descriptors import CONTROL_NAMES, HOP, N_FFT
from sda.generate.curves import ControlValue
from sda.generate.steering import bundle_stats
from sda.generate.tone import asked_setting

MIN_CONTRAST, MAX_CONTRAST = 0.6, 1.6  # beyond these the take turns to hiss or to ringing
ROUGHNESS = CONTROL_NAMES.index("roughness")
TINY = 1e-12


def _spectrum(audio: np.ndarray, circular: bool) -> torch.Tensor:
    """(..., samples) -> (..., bins, frames) complex STFT; a loop is wrapped so its seam is
    analysed as the middle of the sound it is."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    if circular:
        x = torch.cat([x[..., -N_FFT:], x, x[..., :N_FFT]], dim=-1)
    window = torch.hann_window(N_FFT)
    return torch.stft(x, N_FFT, HOP, window=window, center=True, return_complex=True)


def _flatness(power: torch.Tensor, contrast: float) -> float:
    """The descriptor's roughness (dB) of frames (bins, frames) of `power` raised to `contrast`,
    each frame's power kept: geometric over arithmetic mean per frame, power-weighted."""
    log_power = contrast * torch.log(power + TINY)
    shaped = torch.exp(log_power - log_power.max(dim=0, keepdim=True).values)
    flatness = torch.exp(torch.log(shaped + TINY).mean(0)) / (shaped.mean(0) + TINY)
    weight = power.sum(0)
    per_frame = 10.0 * torch.log10(flatness + TINY)
    return float((weight * per_frame).sum() / (weight.sum() + TINY))


def solve_contrast(power: torch.Tensor, target_db: float) -> float:
    """The exponent in MIN..MAX_CONTRAST whose flatness is nearest `target_db` (flatness falls
    as the exponent rises)."""
    low, high = MIN_CONTRAST, MAX_CONTRAST
    if _flatness(power, low) <= target_db:
        return low
    if _flatness(power, high) >= target_db:
        return high
    for _ in range(20):  # bisection: 20 halvings of one unit of exponent are far below hearing
        middle = (low + high) / 2
        low, high = (middle, high) if _flatness(power, middle) > target_db else (low, middle)
    return (low + high) / 2


def apply_contrast(audio: np.ndarray, contrast: float, *, circular: bool = False) -> np.ndarray:
    """`audio` (..., samples) with every STFT magnitude raised to `contrast`, phases and each
    frame's energy kept (both channels of a stereo take alike, by the magnitudes of their mid)."""
    if contrast == 1.0:
        return audio
    length = audio.shape[-1]
    spectrum = _spectrum(audio, circular)
    reference = (spectrum.mean(dim=0) if spectrum.dim() == 3 else spectrum).abs()  # the mid's
    energy = reference.square().sum(-2, keepdim=True)
    shaped = (reference + TINY) ** contrast
    shaped = shaped * torch.sqrt(energy / (shaped.square().sum(-2, keepdim=True) + TINY))
    gain = shaped / (reference + TINY)
    window = torch.hann_window(N_FFT)
    total = length + (2 * N_FFT if circular else 0)
    out = torch.istft(spectrum * gain, N_FFT, HOP, window=window, center=True, length=total)
    if circular:
        out = out[..., N_FFT : N_FFT + length]
    return out.numpy().astype(np.float32)


def set_roughness(
    models: Any,
    audio: np.ndarray,
    controls: Mapping[str, ControlValue] | None = None,
    *,
    circular: bool = False,
) -> np.ndarray:
    """Decoded audio (samples,) or (2, samples) with its spectral contrast solved to the roughness
    setting; as it is without that control or without descriptor statistics."""
    audio = np.asarray(audio, dtype=np.float32)
    asked = asked_setting(controls or {}, "roughness")
    stats = bundle_stats(models)
    if asked is None or stats is None or audio.shape[-1] < N_FFT:
        return audio
    target = float(stats.denormalize(np.full(len(CONTROL_NAMES), asked))[ROUGHNESS])
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    power = _spectrum(mono, circular).abs().square().double()
    return apply_contrast(audio, solve_contrast(power, target), circular=circular)
