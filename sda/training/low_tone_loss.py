"""Teaches the decoder's low oscillator (`sda.models.low_oscillator`) the original's low tone
(`sda.models.low_tone_analysis`): its frequency where the low band holds a clear tone, its level
everywhere, towards the tone's amplitude where there is one and towards silence where the low
band is noise or empty.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sda.models.low_oscillator import LOWEST_HZ, SILENT_LOG_LEVEL, LowTone
from sda.models.low_tone_analysis import low_tone_target

_LEVEL_FLOOR = 1e-3  # -60 dBFS: a quieter tone's pitch is not taught
# where the original has no tone the oscillator is taught this level (the one it starts at)
SILENT_LEVEL = math.exp(SILENT_LOG_LEVEL)


class LowToneLoss(nn.Module):
    """|octaves| between the oscillator's frequency and the original's tone (weighted by how
    clearly there is one and how loud), plus |log10| between their levels."""

    def __init__(self, *, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    def forward(self, played: LowTone, reference: Tensor) -> Tensor:
        with torch.no_grad():
            target = low_tone_target(reference.detach(), self.sample_rate)
        frames = target.level.shape[-1]
        frequency = _to_frames(played.frequency_hz, frames)
        level = _to_frames(played.level, frames)
        audible = (target.level / _LEVEL_FLOOR).clamp(max=1.0)
        weight = target.tonal * audible
        octaves = (frequency.log2() - target.frequency_hz.clamp(min=LOWEST_HZ).log2()).abs()
        pitch = (weight * octaves).sum() / weight.sum().clamp(min=1.0)
        # in the log domain all the way down: from its silent start the level hears the same
        # push as near the target (a floor added inside the log would mute it there)
        wanted = target.level.clamp(min=SILENT_LEVEL)
        loudness = (level.clamp(min=1e-12).log10() - wanted.log10()).abs().mean()
        return pitch + loudness


def _to_frames(per_synthesis_frame: Tensor, frames: int) -> Tensor:
    """The oscillator's (batch, synthesis frames) averaged onto the analysis frames."""
    return F.adaptive_avg_pool1d(per_synthesis_frame.unsqueeze(1), frames).squeeze(1)
