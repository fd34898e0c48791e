"""A bank of sine oscillators under the synthesis head's first bin, for kick drums' bodies.

The iSTFT head sets each frame's phases afresh, and without knowing which frame it is at it cannot
make a phase turn by a fixed step every frame: below its first bin (93.75 Hz with a 512-sample
window at 48 kHz) it plays a 36 Hz kick body at 94 Hz (experiments/RESULTS.md). These oscillators
run at fixed pitches a semitone apart from `LOWEST_HZ`, with their phases counted from the first
sample; the decoder only sets each one's level, frame by frame, so a low tone needs no phase at
all. Levels start at zero: a codec that adds them computes exactly what it did before.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOWEST_HZ = 24.0
# the levels' scale: Adam moves every weight of a fresh layer by about its learning rate at once,
# which unscaled lifted all 24 sines by ~0.3 in one step and swamped the first hundred steps
LEVEL_SCALE = 0.01


class SubOscillators(nn.Module):
    """stream (batch, frames, dim) and audio (batch, frames * hop_length) -> audio + the bank."""

    def __init__(self, *, dim: int, hop_length: int, sample_rate: int, count: int) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.sample_rate = sample_rate
        self.level = nn.Linear(dim, count)
        nn.init.zeros_(self.level.weight)
        nn.init.zeros_(self.level.bias)
        semitones = torch.arange(count, dtype=torch.float64)
        self.register_buffer("hz", LOWEST_HZ * 2 ** (semitones / 12), persistent=False)

    def forward(self, stream: Tensor, audio: Tensor) -> Tensor:
        levels = LEVEL_SCALE * self.level(stream).transpose(1, 2)  # (batch, count, frames)
        samples = audio.shape[-1]
        levels = F.interpolate(levels, size=samples, mode="linear", align_corners=False)
        # phases in float64 and wrapped before the sine: long takes keep their pitch exactly
        turns = torch.outer(
            self.hz, torch.arange(samples, device=audio.device, dtype=torch.float64)
        )
        tones = torch.sin(2 * math.pi * torch.remainder(turns / self.sample_rate, 1.0))
        return audio + torch.einsum("bks,ks->bs", levels, tones.to(audio.dtype))
