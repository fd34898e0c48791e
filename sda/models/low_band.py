"""Two synthesis windows split at a crossover: long for the low band, short above it.

A short iSTFT window keeps attacks sharp, but a 512-sample window at 48 kHz is shorter than one
period of a 60 Hz kick body: each frame's phase for a low tone is a guess, frames that disagree
cancel in the overlap-add, and the body wobbles and overshoots (experiments/RESULTS.md, the
2026-12-07 pictures). Below `low_band_hz` a second head synthesises with the full STFT window
(2,048 samples: 23 Hz bins); above it the short head keeps the attacks. Both heads' magnitudes
pass through complementary linear ramps over the crossover band, so the two add up to one
spectrum.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sda.models.spectral import ISTFTHead

CROSSOVER_WIDTH = 0.5  # the ramp runs from crossover * (1 - w/2) to crossover * (1 + w/2)


def crossover_ramp(n_fft: int, sample_rate: int, crossover_hz: float) -> Tensor:
    """(n_fft // 2 + 1,) the low band's share of each bin: 1 below the crossover band, falling
    linearly to 0 across it; the high band's share is one minus this."""
    frequencies = torch.arange(n_fft // 2 + 1) * sample_rate / n_fft
    low = crossover_hz * (1 - CROSSOVER_WIDTH / 2)
    high = crossover_hz * (1 + CROSSOVER_WIDTH / 2)
    return ((high - frequencies) / (high - low)).clamp(0.0, 1.0)


def low_band_weights(n_fft: int, sample_rate: int, crossover_hz: float) -> Tensor:
    """The low head's weights, cut after its last bin with a share (the bins it predicts)."""
    ramp = crossover_ramp(n_fft, sample_rate, crossover_hz)
    last = int(torch.nonzero(ramp > 0).max())
    return ramp[: last + 1]


def high_band_weights(n_fft: int, sample_rate: int, crossover_hz: float) -> Tensor:
    """The short head's weights over its bins: one minus the low band's share at its bins'
    frequencies (its bins are `n_fft`'s own, a shorter window's)."""
    return 1.0 - crossover_ramp(n_fft, sample_rate, crossover_hz)


class LowBandHead(nn.Module):
    """(batch, dim, frames at the STFT rate) -> (batch, frames * hop_length) audio below the
    crossover, synthesised with the full `n_fft` window; its own level path, as the main head's."""

    def __init__(
        self, *, dim: int, n_fft: int, hop_length: int, sample_rate: int, crossover_hz: float
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.log_gain = nn.Linear(dim, 1)
        nn.init.zeros_(self.log_gain.weight)
        nn.init.zeros_(self.log_gain.bias)
        self.head = ISTFTHead(
            dim=dim,
            n_fft=n_fft,
            hop_length=hop_length,
            band_weights=low_band_weights(n_fft, sample_rate, crossover_hz),
        )

    def forward(self, x: Tensor) -> Tensor:
        stream = x.transpose(1, 2)  # (batch, frames, dim)
        gain = self.log_gain(stream).transpose(1, 2)
        return self.head(self.norm(stream).transpose(1, 2), log_gain=gain)
