"""Phases for an inverse STFT from its magnitudes alone: a peak-locked phase vocoder.

Why: the encoder reads magnitudes only, so a held tone gives the same latent every frame, and a
head that predicts each frame's phase from the decoder's stream (as Vocos does) repeats itself
every latent frame: every held note comes back on a comb of the frame rate (a 1 kHz sine at
656 Hz; experiments/RESULTS.md, Codec, "comb"). A steady partial needs its phase to turn by
2 pi f hop / rate every frame, for any f: that is memory across frames, which a phase vocoder
has. Each frame's spectral peaks give their partial's frequency (a parabola through the peak's
log-magnitude and its neighbours), every bin takes the frequency of the peak it climbs to, the
phases advance by it frame after frame, and the bins under one peak are locked to the peak's
phase (a Hann window centred in the frame alternates sign bin to bin). The original's STFT
magnitudes rendered this way score held-out mel 1.05 on the drums, textures and tonal dev sets,
held tones 0.74-1.0, against 1.8-2.0 and 0.2-0.8 with random phases (RESULTS.md, Codec,
2026-12-08 "phases from magnitudes").

The phases are no function to learn: they are computed without gradient, and the decoder learns
magnitudes that render well with them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_FLOOR = -60.0  # log-magnitude used for the bins beyond the spectrum's edges


@torch.no_grad()
def vocoder_phases(
    log_magnitude: Tensor, *, n_fft: int, hop_length: int, start_frame: int = 0
) -> Tensor:
    """(batch, bins, frames) natural-log magnitudes -> phases (batch, bins, frames).

    `start_frame`: the first frame's index in the whole sound, so that windows of one sound
    decoded apart give a steady partial the same phase where they overlap."""
    # frames first, so that each frame's bins are contiguous for the peak search and the gathers
    log_mag = log_magnitude.detach().float().transpose(1, 2).contiguous()  # (batch, frames, bins)
    bins = log_mag.shape[-1]
    left = F.pad(log_mag[..., :-1], (1, 0), value=_FLOOR)
    right = F.pad(log_mag[..., 1:], (0, 1), value=_FLOOR)
    index = torch.arange(bins, device=log_mag.device).expand_as(log_mag)
    owner = _peak_of_each_bin(log_mag, left, right, index)
    # radians per hop of the partial each peak stands for (parabolic interpolation)
    curve = left - 2 * log_mag + right
    offset = torch.where(curve < -1e-6, 0.5 * (left - right) / curve.clamp(max=-1e-6), 0.0)
    turn = (index + offset.clamp(-0.5, 0.5)) * (2 * math.pi * hop_length / n_fft)
    turn = torch.gather(turn, -1, owner).double()  # every bin turns with its peak
    # the phase a steady partial has reached by the window's first frame, then frame by frame
    phase = torch.cumsum(turn, dim=1) + turn[:, :1] * start_frame
    locked = torch.gather(phase, -1, owner) + math.pi * (index - owner)
    locked = torch.remainder(locked, 2 * math.pi).to(log_magnitude.dtype)
    return locked.transpose(1, 2)


def _peak_of_each_bin(log_mag: Tensor, left: Tensor, right: Tensor, index: Tensor) -> Tensor:
    """Per bin (last axis), the index of the local maximum reached by always stepping to the
    louder neighbour. A step uphill is to a louder bin whose own louder neighbour lies further
    the same way (else it is a peak), so the climb ends at the nearest peak in the first
    step's direction: the last peak at or below the bin, or the first at or above it."""
    peak = (log_mag > left) & (log_mag >= right)
    bins = log_mag.shape[-1]
    below = torch.where(peak, index, -1).cummax(dim=-1).values.clamp(min=0)
    above = torch.where(peak, index, bins).flip(-1).cummin(dim=-1).values.flip(-1)
    return torch.where(peak, index, torch.where(left > right, below, above.clamp(max=bins - 1)))
