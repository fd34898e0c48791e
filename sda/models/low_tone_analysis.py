"""The strongest low partial of a sound, per analysis frame: what the low oscillator is taught
(`sda.training.low_tone_loss`) and what the encoder of a codec with one reads beside its spectra.

Per frame of `hop` samples (`HOP` by default): the strongest partial between the oscillator's limits, read from a
long window (zero-padded, the peak interpolated), its sine amplitude, and how tonal the low band
is (the share of its energy in the peak's main lobe; a peak at the range's edge is not a tone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from sda.models.low_oscillator import HIGHEST_HZ, LOWEST_HZ

WINDOW = 4096  # 85 ms at 48 kHz: resolves 36 Hz from 46 Hz; a kick's body lasts longer
PADDED = 16384  # zero-padding: 2.9 Hz between bins before the peak is interpolated
HOP = 512
BAND_HZ = (15.0, 200.0)  # what "the low band" is, for the tonality share
_LOBE_BINS = 2 * PADDED // WINDOW  # a Hann main lobe's half-width, in padded bins
TONAL_FROM, TONAL_SPAN = 0.5, 0.3  # lobe shares 0.5 -> 0.8 ramp from not a tone to a tone


@dataclass
class LowToneTarget:
    """Per analysis frame, (batch, frames) each."""

    frequency_hz: Tensor
    level: Tensor  # the tone's sine amplitude; 0 where the low band holds no clear tone
    tonal: Tensor  # 0..1: how clearly the low band is one tone


def low_tone_target(audio: Tensor, sample_rate: int, hop: int = HOP) -> LowToneTarget:
    """(batch, samples) original -> its low tone per `hop` samples (frames centred on hops)."""
    window = torch.hann_window(WINDOW, device=audio.device, dtype=audio.dtype)
    pad = (WINDOW - hop) // 2
    padded = F.pad(audio.unsqueeze(1), (pad, pad)).squeeze(1)
    frames = padded.unfold(-1, WINDOW, hop)  # (batch, frames, WINDOW)
    # without its DC offset: a recording's offset leaks into the lowest bins as a false tone
    frames = (frames - frames.mean(-1, keepdim=True)) * window
    spectrum = torch.fft.rfft(frames, n=PADDED, dim=-1).abs()
    hz_per_bin = sample_rate / PADDED
    low, high = (int(math.ceil(hz / hz_per_bin)) for hz in (LOWEST_HZ, HIGHEST_HZ))
    peak = spectrum[..., low:high].argmax(-1) + low
    offset, height = _interpolated_peak(spectrum, peak)
    frequency = (peak.to(audio.dtype) + offset) * hz_per_bin
    level = height * 4 / WINDOW  # a Hann window's peak for a sine of amplitude A: A * N / 4
    power = spectrum.square()
    band = slice(int(BAND_HZ[0] / hz_per_bin), int(BAND_HZ[1] / hz_per_bin) + 1)
    bins = torch.arange(power.shape[-1], device=audio.device)
    lobe = (bins - peak.unsqueeze(-1)).abs() <= _LOBE_BINS
    share = (power * lobe).sum(-1) / power[..., band].sum(-1).clamp(min=1e-20)
    # a tone is a peak inside the range: one at its edge is the slope of something outside
    inside = (peak > low) & (peak < high - 1)
    tonal = ((share - TONAL_FROM) / TONAL_SPAN).clamp(0.0, 1.0) * inside
    return LowToneTarget(frequency_hz=frequency, level=level * tonal, tonal=tonal)


def _interpolated_peak(spectrum: Tensor, peak: Tensor) -> tuple[Tensor, Tensor]:
    """A parabola through the log-magnitudes around each peak: (bin offset, peak magnitude)."""
    logs = spectrum.clamp(min=1e-12).log()
    around = torch.stack([logs.gather(-1, (peak + d).unsqueeze(-1))[..., 0] for d in (-1, 0, 1)])
    left, centre, right = around
    curve = left - 2 * centre + right
    offset = torch.where(curve < 0, 0.5 * (left - right) / curve.clamp(max=-1e-9), 0.0)
    offset = offset.clamp(-0.5, 0.5)
    return offset, torch.exp(centre - 0.25 * (left - right) * offset)


LOW_TONE_FEATURES = 3


def low_tone_features(audio: Tensor, sample_rate: int, hop: int) -> Tensor:
    """(batch, samples) -> (batch, LOW_TONE_FEATURES, samples // hop): what an encoder reads of
    the low tone beside its spectra (a 2,048-sample analysis barely tells 36 Hz from 46 Hz):
    how tonal, octaves from the oscillator's middle where tonal, log10 amplitude from -80 dB."""
    reading = low_tone_target(audio, sample_rate, hop)
    octaves = (reading.frequency_hz.clamp(min=LOWEST_HZ) / math.sqrt(LOWEST_HZ * HIGHEST_HZ)).log2()
    level = reading.level.clamp(min=1e-4).log10() + 4.0
    return torch.stack([reading.tonal, reading.tonal * octaves, level], dim=1)
