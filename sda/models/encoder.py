"""Codec encoder: log-magnitude STFT -> ConvNeXt at STFT rate -> strided conv -> latent frames."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sda.models.convnext import ConvNeXtStack
from sda.models.fine_time import SUB_FRAMES, FineTimeEnvelopes
from sda.models.spectral import LogMagnitudeSTFT


class Encoder(nn.Module):
    """(batch, samples) -> (batch, latent_dim, samples // (hop_length * downsample)).

    `samples` must be a multiple of `hop_length * downsample` (the codec pads before calling).
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int,
        downsample: int,
        dim: int,
        blocks: int,
        latent_blocks: int,
        latent_dim: int,
        mlp_ratio: float,
        kernel_size: int,
        edge_padding: str = "zeros",
        fine_time_bands: int = 0,
    ) -> None:
        super().__init__()
        self.stft = LogMagnitudeSTFT(n_fft=n_fft, hop_length=hop_length, edge_padding=edge_padding)
        # No LayerNorm right after the embedding (Vocos has one): a level change is a uniform
        # shift of every log-magnitude, which a per-frame norm largely removes. Measured on 12
        # texture files, 300 steps: held-out mel distance 2.71 with each added level helping,
        # where the normalised version stayed flat across levels. (The codec still compresses
        # level differences early in training: a 40 dB input range came out as ~13 dB.)
        # The final norm stays: bounded latents keep the EMA codebooks close to the latents
        # (without it the commitment loss was 100-1000x larger in the same test).
        # Optional fine-time band envelopes beside the magnitudes: where in a hop an attack sits
        # (sda.models.fine_time); 0 bands: none, as the codecs before them.
        self.fine_time = (
            FineTimeEnvelopes(hop_length=hop_length, bands=fine_time_bands)
            if fine_time_bands
            else None
        )
        features = n_fft // 2 + 1 + SUB_FRAMES * fine_time_bands
        self.embed = nn.Conv1d(features, dim, kernel_size=1)
        self.blocks = ConvNeXtStack(
            dim=dim, blocks=blocks, mlp_ratio=mlp_ratio, kernel_size=kernel_size
        )
        if downsample > 1:
            # kernel 2*stride with padding stride//2 maps F frames to exactly F // stride
            self.downsample = nn.Conv1d(
                dim, dim, kernel_size=2 * downsample, stride=downsample, padding=downsample // 2
            )
        else:
            self.downsample = nn.Identity()
        self.latent_blocks = ConvNeXtStack(
            dim=dim, blocks=latent_blocks, mlp_ratio=mlp_ratio, kernel_size=kernel_size
        )
        self.out_norm = nn.LayerNorm(dim, eps=1e-6)
        self.out = nn.Linear(dim, latent_dim)
        self.frames_per_latent = downsample

    def forward(self, audio: Tensor) -> Tensor:
        x = self.stft(audio)  # (batch, bins, stft_frames)
        if self.fine_time is not None:
            x = torch.cat([x, self.fine_time(audio)], dim=1)
        x = self.embed(x)
        x = self.blocks(x)
        x = self.downsample(x)[..., : x.shape[-1] // self.frames_per_latent]
        x = self.latent_blocks(x)
        return self.out(self.out_norm(x.transpose(1, 2))).transpose(
            1, 2
        )  # (batch, latent_dim, frames)
