"""Phase steps: a synthesis head whose phase can turn at any frequency from frame to frame.

A head that predicts each frame's phase afresh has no clock but its own frame grid: a held note
gives the same latents every frame, so the output repeats every latent frame and held tones land
on multiples of 46.875 Hz (experiments/RESULTS.md, Codec, "comb"). With phase steps the head also
predicts, per bin and frame, how far the bin's phase turns beyond the bin's centre frequency since
the previous frame. The steps are summed over frames and added to the predicted phase, so a held
partial between two bins keeps turning at its own rate. A bin's sum starts again where its level
jumps (an onset): an attack keeps the phase the head gives it, and bins whose steps stay at zero
(noise, transients) behave exactly as a head without steps.

The steps learn only from `phase_step_loss` (the original's own phase advance): the spectral
losses see the summed turn as fixed, since through a sum over hundreds of frames their gradients
scramble the steps (a probe on 2026-12-07).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

RESTART_RISE = math.log(2.0)  # a bin's sum starts again where its magnitude rises 6 dB in a frame


class PhaseSteps(nn.Module):
    """(batch, dim, frames) head features -> (batch, bins, frames) steps in (-pi, pi).

    Zero-initialised: a head with fresh steps plays exactly as the head without them.
    """

    def __init__(self, *, dim: int, bins: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, bins)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        return math.pi * torch.tanh(self.proj(x.transpose(1, 2)).transpose(1, 2))


def summed_turns(
    steps: Tensor,
    log_magnitude: Tensor,
    *,
    carried: Tensor | None = None,
    rise: float = RESTART_RISE,
) -> Tensor:
    """Each bin's steps summed since its last onset, wrapped to [0, 2 pi); no gradient.

    steps, log_magnitude: (batch, bins, frames). A frame is an onset for a bin where the bin's
    log-magnitude rose more than `rise` since the previous frame; the first frame is one too,
    unless `carried` (batch, bins) gives the sum just before it (a long decode's previous window).
    At an onset the sum is zero; after it, the sum of the steps of the frames since.
    """
    steps, log_magnitude = steps.detach(), log_magnitude.detach()
    frames = steps.shape[-1]
    onset = torch.zeros_like(steps, dtype=torch.bool)
    onset[..., 1:] = log_magnitude[..., 1:] - log_magnitude[..., :-1] > rise
    total = torch.cumsum(steps, dim=-1)
    if carried is None:
        onset[..., 0] = True
    else:
        total = total + carried.detach()[..., None]
    index = torch.arange(frames, device=steps.device).expand_as(steps)
    last_onset = torch.cummax(torch.where(onset, index, torch.zeros_like(index)), dim=-1).values
    turned = total - total.gather(-1, last_onset)
    if carried is not None:  # where no onset came yet, the sum goes on from the carried one
        turned = torch.where(last_onset == 0, total, turned)
    return torch.remainder(turned, 2 * math.pi)
