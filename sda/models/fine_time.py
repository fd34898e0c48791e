"""Fine-time band envelopes: what the encoder's 2048-sample analysis blurs, when a hit starts.

The encoder's log-magnitude STFT hops 512 samples (10.7 ms at 48 kHz) with a 43 ms window, so
where a sharp attack sits inside a frame reaches it only through the window's slopes. These
features add, per STFT frame, the log energy of a few frequency bands in each of `SUB_FRAMES`
sub-frames of its hop (a 256-sample analysis hopping 64 samples: 1.3 ms at 48 kHz), aligned
with the frame's hop. The decoder then gets the attack's time from the codes, not a guess.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SUB_FRAMES = 8  # sub-frames per STFT hop
WINDOW_HOPS = 4  # the short analysis window, in sub-frame hops (75 % overlap)
MAX_BANDS = 64


def band_limit(hop_length: int) -> int:
    """The most bands a hop of `hop_length` samples can be read in (0: not a multiple of
    SUB_FRAMES, so it has no sub-frames)."""
    if hop_length % SUB_FRAMES:
        return 0
    bins = WINDOW_HOPS * (hop_length // SUB_FRAMES) // 2 + 1
    return min(MAX_BANDS, bins - 1)


def band_matrix(bins: int, bands: int) -> Tensor:
    """(bins, bands) 0/1 matrix: log-spaced bands from the first bin to the last, none empty."""
    edges = torch.logspace(0.0, math.log10(bins), bands + 1).floor().long()
    edges[0] = 0
    for index in range(1, bands + 1):  # at least one bin per band where the log spacing bunches
        edges[index] = max(int(edges[index]), int(edges[index - 1]) + 1)
    edges[-1] = bins
    if int(edges[-2]) >= bins:
        raise ValueError(f"{bands} bands do not fit in {bins} bins")
    matrix = torch.zeros(bins, bands)
    for band in range(bands):
        matrix[edges[band] : edges[band + 1], band] = 1.0
    return matrix


class FineTimeEnvelopes(nn.Module):
    """(batch, samples) -> (batch, SUB_FRAMES * bands, samples // hop_length): log band energies.

    Channel `sub * bands + band` is band `band` in sub-frame `sub` of the frame's hop. Silence
    reads the floor, not -inf; zero edge padding as the encoder's main analysis."""

    def __init__(self, *, hop_length: int, bands: int, floor: float = 1e-10) -> None:
        super().__init__()
        if not 1 <= bands <= band_limit(hop_length):
            raise ValueError(f"{bands} bands do not fit a hop of {hop_length} samples")
        self.hop_length = hop_length
        self.sub_hop = hop_length // SUB_FRAMES
        self.window_size = WINDOW_HOPS * self.sub_hop
        self.bands = bands
        self.floor = floor
        self.register_buffer("window", torch.hann_window(self.window_size), persistent=False)
        bins = self.window_size // 2 + 1
        self.register_buffer("band_sums", band_matrix(bins, bands), persistent=False)

    def forward(self, audio: Tensor) -> Tensor:
        frames = audio.shape[-1] // self.hop_length
        pad = (self.window_size - self.sub_hop) // 2  # sub-frame j is centred on its own hop
        padded = F.pad(audio, (pad, pad))
        spec = torch.stft(
            padded,
            n_fft=self.window_size,
            hop_length=self.sub_hop,
            window=self.window,
            center=False,
            return_complex=True,
        )  # (batch, bins, sub-frames)
        power = spec.real.square() + spec.imag.square()
        energies = power.transpose(1, 2) @ self.band_sums  # (batch, sub-frames, bands)
        envelopes = 0.5 * torch.log(energies.clamp(min=self.floor))  # log magnitude, as the STFT's
        envelopes = envelopes[:, : frames * SUB_FRAMES]
        return envelopes.reshape(audio.shape[0], frames, SUB_FRAMES * self.bands).transpose(1, 2)
