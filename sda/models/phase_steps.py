"""Phase steps: a synthesis head whose phase turns at any frequency from frame to frame.

A head that predicts each frame's phase afresh has no clock but its own frame grid: a held note
gives the same latents every frame, so the output repeats every latent frame and held tones land
on multiples of 46.875 Hz (experiments/RESULTS.md, Codec, "comb"). With the original's phases its
magnitudes would keep those tones (0.72 on the tone measure): the phase is what needs a clock.

With phase steps, each bin's phase turns from one frame to the next by its centre frequency's
advance plus a predicted step (how far the bin's partial sits from the centre), summed from the
head's own phase at the bin's last onset. While a bin's level rises (an attack: its energy over
one latent frame up 6 dB on the latent frame before) the head's phase is used as predicted, so
attacks keep the head's shape; while it holds or decays, the phase turns on.

The steps learn only from `phase_step_loss` (the original's own phase advance): the spectral
losses see the summed turn as fixed, since through a sum over hundreds of frames their gradients
scramble the steps (a probe on 2026-12-07).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RISE = math.log(2.0)  # a bin's level rising this much (natural log, 6 dB) ...
RISE_FRAMES = 8  # ... over this many head frames (a latent frame) is an onset
SMOOTHING = 9  # head frames of energy averaged first: the head's level dips every few frames


class PhaseSteps(nn.Module):
    """(batch, dim, frames) head features -> (batch, bins, frames) steps in (-pi, pi).

    Zero-initialised: a fresh head turns each bin at its centre frequency.
    """

    def __init__(self, *, dim: int, bins: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, bins)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        return math.pi * torch.tanh(self.proj(x.transpose(1, 2)).transpose(1, 2))


def centre_advance(bins: int, hop_length: int, *, device: torch.device | None = None) -> Tensor:
    """(1, bins, 1): how far a partial at each bin's centre frequency turns in one hop."""
    n_fft = 2 * (bins - 1)
    return (2 * math.pi * hop_length / n_fft) * torch.arange(bins, device=device)[None, :, None]


def onsets(log_magnitude: Tensor) -> Tensor:
    """(batch, bins, frames) bool: where each bin's level, averaged over `SMOOTHING` frames,
    is `RISE` above its level `RISE_FRAMES` frames before."""
    frames = log_magnitude.shape[-1]
    energy = torch.exp(2 * log_magnitude.detach().clamp(max=30.0))
    pooled = F.avg_pool1d(energy, SMOOTHING, 1, SMOOTHING // 2, count_include_pad=False)
    level = 0.5 * torch.log(pooled[..., :frames].clamp(min=1e-20))
    rising = torch.zeros_like(level, dtype=torch.bool)
    rising[..., RISE_FRAMES:] = level[..., RISE_FRAMES:] - level[..., :-RISE_FRAMES] > RISE
    return rising


def turned_phase(
    phase: Tensor,
    steps: Tensor,
    log_magnitude: Tensor,
    *,
    hop_length: int,
    carried: Tensor | None = None,
) -> Tensor:
    """Each bin's phase: the head's `phase` at its last onset, turned since by its centre
    frequency's advance plus its `steps` each frame. All (batch, bins, frames); the steps and
    levels carry no gradient, the head's phase does (at onsets).

    The first frame is an onset unless `carried` (batch, bins) gives the phase of the frame just
    before it (a long decode's previous window): then the phase goes on from there.
    """
    advance = centre_advance(steps.shape[1], hop_length, device=steps.device) + steps.detach()
    advance = torch.remainder(advance, 2 * math.pi)  # small sums keep float32's precision
    onset = onsets(log_magnitude)
    if carried is None:
        onset[..., 0] = True
    total = torch.cumsum(advance, dim=-1)
    index = torch.arange(steps.shape[-1], device=steps.device).expand_as(steps)
    last = torch.cummax(torch.where(onset, index, torch.zeros_like(index)), dim=-1).values
    turned = phase.gather(-1, last) + (total - total.gather(-1, last))
    if carried is not None:  # where no onset came yet, the phase goes on from the carried one
        since = onset.cumsum(dim=-1) == 0
        turned = torch.where(since, carried.detach()[..., None] + total, turned)
    return turned
