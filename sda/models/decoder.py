"""Codec decoder: latent frames -> ConvNeXt -> upsample to STFT rate -> ConvNeXt -> iSTFT head."""

from __future__ import annotations

from torch import Tensor, nn

from sda.models.convnext import ConvNeXtStack
from sda.models.spectral import ISTFTHead


class Decoder(nn.Module):
    """(batch, latent_dim, frames) -> (batch, frames * downsample * hop_length).

    Computation stays at frame rate until the last step; the inverse STFT replaces the stack of
    sample-rate upsampling convolutions a DAC/HiFi-GAN decoder would need (much cheaper on CPU).
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
        head_upsample: int = 1,
        head_phase: str = "learned",
    ) -> None:
        super().__init__()
        # No per-frame LayerNorm right after the embedding: it rescales every frame and so
        # throws away level information the latents carry (see the encoder).
        self.embed = nn.Conv1d(latent_dim, dim, kernel_size=kernel_size, padding=kernel_size // 2)
        self.latent_blocks = ConvNeXtStack(
            dim=dim, blocks=latent_blocks, mlp_ratio=mlp_ratio, kernel_size=kernel_size
        )
        if downsample > 1:
            self.upsample = nn.ConvTranspose1d(dim, dim, kernel_size=downsample, stride=downsample)
        else:
            self.upsample = nn.Identity()
        self.blocks = ConvNeXtStack(
            dim=dim, blocks=blocks, mlp_ratio=mlp_ratio, kernel_size=kernel_size
        )
        # The head reads a LayerNorm'd stream (without that norm training diverged here), so the
        # overall level gets its own path: a scalar log-gain read from the un-normalised stream
        # and added to every bin's log-magnitude. Zero-initialised: it starts neutral.
        # A shorter synthesis window keeps attacks sharp: the head runs `head_upsample` times
        # faster than the STFT frames with n_fft and hop divided by it (2048 -> 1024 samples).
        if head_upsample > 1:
            self.head_upsample = nn.ConvTranspose1d(
                dim, dim, kernel_size=head_upsample, stride=head_upsample
            )
        else:
            self.head_upsample = nn.Identity()
        self.out_norm = nn.LayerNorm(dim, eps=1e-6)
        self.log_gain = nn.Linear(dim, 1)
        nn.init.zeros_(self.log_gain.weight)
        nn.init.zeros_(self.log_gain.bias)
        self.head = ISTFTHead(
            dim=dim,
            n_fft=n_fft // head_upsample,
            hop_length=hop_length // head_upsample,
            phase=head_phase,
        )
        self.head_frames_per_latent = downsample * head_upsample

    def forward(
        self, latents: Tensor, start_frame: int = 0, *, with_frames: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """(batch, samples) audio, and with `with_frames` the head's log-magnitudes (batch, bins,
        head frames) beside it (a loss reads them). `start_frame`: the first latent frame's index
        in the whole sound, so that windows decoded apart keep a held tone's phase where they
        overlap (vocoder phases)."""
        features, gain = self._head_input(latents)
        start = start_frame * self.head_frames_per_latent
        log_mag, phase = self.head.frames(features, log_gain=gain, start_frame=start)
        audio = self.head.render(log_mag, phase)
        return (audio, log_mag) if with_frames else audio

    def head_frames(self, latents: Tensor) -> tuple[Tensor, Tensor]:
        """The head's (log-magnitude, phase) per bin and frame for `latents`, before synthesis:
        `self.head.render` plays them (a diagnosis renders them apart)."""
        features, gain = self._head_input(latents)
        return self.head.frames(features, log_gain=gain)

    def _head_input(self, latents: Tensor) -> tuple[Tensor, Tensor]:
        """(features (batch, dim, head frames), overall log-gain (batch, 1, head frames))."""
        x = self.embed(latents)  # (batch, dim, frames)
        x = self.latent_blocks(x)
        x = self.upsample(x)  # (batch, dim, frames * downsample)
        x = self.blocks(x)
        x = self.head_upsample(x)  # (batch, dim, frames * downsample * head_upsample)
        stream = x.transpose(1, 2)  # (batch, frames, dim)
        gain = self.log_gain(stream).transpose(1, 2)  # (batch, 1, frames)
        return self.out_norm(stream).transpose(1, 2), gain
