"""The phase-step loss: a synthesis head's phase steps taught by the original's phase advance.

For each bin and frame of the head's own STFT grid (its window, hop and "same" padding), the
original's phase advance since the previous frame, less the bin's centre-frequency advance, is
what the head's step should be (sda.models.phase_steps). The error is 1 - cos of the angle
between them, weighted by the original's magnitude in both frames, so loud held partials count and
silence or noise that comes and goes barely does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def advance_beyond_centre(audio: Tensor, *, n_fft: int, hop_length: int) -> tuple[Tensor, Tensor]:
    """(batch, samples) -> each bin's phase advance into each frame beyond its centre frequency's
    (batch, bins, frames - 1), and its weight: the smaller magnitude of the two frames."""
    pad = (n_fft - hop_length) // 2
    padded = F.pad(audio.unsqueeze(1), (pad, pad)).squeeze(1)
    window = torch.hann_window(n_fft, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(padded, n_fft, hop_length, window=window, center=False, return_complex=True)
    turn = spec[..., 1:] * spec[..., :-1].conj()
    bins = torch.arange(spec.shape[1], device=audio.device, dtype=audio.dtype)
    centre = (2 * math.pi * hop_length / n_fft) * bins[None, :, None]
    weight = torch.minimum(spec[..., 1:].abs(), spec[..., :-1].abs())
    return torch.angle(turn) - centre, weight


def phase_step_loss(steps: Tensor, audio: Tensor, *, n_fft: int, hop_length: int) -> Tensor:
    """Magnitude-weighted 1 - cos(step - original's advance beyond centre); 0 (none) .. 2.

    steps: (batch, bins, frames) from the head; audio: (batch, samples), padded or cut here to
    frames * hop_length samples so both sit on the same frame grid.
    """
    frames = steps.shape[-1]
    audio = F.pad(audio, (0, max(frames * hop_length - audio.shape[-1], 0)))
    target, weight = advance_beyond_centre(
        audio[:, : frames * hop_length].float(), n_fft=n_fft, hop_length=hop_length
    )
    error = 1.0 - torch.cos(steps[..., 1:] - target)
    return (weight * error).sum() / weight.sum().clamp(min=1e-8)
