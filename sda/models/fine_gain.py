"""A fine-time gain envelope the decoder lays over its synthesised audio.

The iSTFT head synthesises each frame with a window (512 samples in the laptop codec); where the
decoder's phases are not quite right, a hit's energy spreads over that window and its peak comes
back low. This gain, read from the decoder's last stream at `steps` points per synthesis hop and
interpolated to the sample rate, lets the decoder lift a hit's first milliseconds and quiet what
leaks before it, finer than any window. Its weights start at zero (gain 1): a codec that adds it
computes exactly what it did before and learns to use it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MAX_GAIN_STEPS = 32  # points per synthesis hop at most
MAX_GAIN_DB = 12.0  # how far the envelope may lift or lower a point (a soft cap)


class FineGain(nn.Module):
    """stream (batch, frames, dim) and audio (batch, frames * hop_length) -> shaped audio."""

    def __init__(self, *, dim: int, hop_length: int, steps: int) -> None:
        super().__init__()
        if steps < 1 or hop_length % steps:
            raise ValueError(f"steps ({steps}) must divide the synthesis hop ({hop_length})")
        self.steps = steps
        self.hop_length = hop_length
        self.proj = nn.Linear(dim, steps)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.cap = MAX_GAIN_DB / 20 * math.log(10)  # natural-log gain

    def log_gain(self, stream: Tensor) -> Tensor:
        """(batch, frames, dim) -> (batch, frames * steps) natural-log gain, softly capped."""
        raw = self.proj(stream).flatten(1)
        return self.cap * torch.tanh(raw / self.cap)

    def forward(self, stream: Tensor, audio: Tensor) -> Tensor:
        points = self.log_gain(stream).unsqueeze(1)  # (batch, 1, frames * steps)
        # linear between points placed at the centre of their hop / steps samples
        per_sample = F.interpolate(points, size=audio.shape[-1], mode="linear", align_corners=False)
        return audio * per_sample.squeeze(1).exp()
