"""Discriminators for the optional adversarial phase, and their hinge + feature-matching losses.

Multi-period (HiFi-GAN) looks at the waveform folded by prime periods: pitch and transients.
Multi-resolution STFT (Vocos/UnivNet) looks at log-magnitude spectrograms: texture and noise.
Channel counts are kept small so the phase is affordable on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

# each discriminator returns (logits, [feature maps]) per sub-discriminator
Judgement = list[tuple[Tensor, list[Tensor]]]


class PeriodDiscriminator(nn.Module):
    def __init__(self, *, period: int, channels: int = 32, max_channels: int = 256) -> None:
        super().__init__()
        self.period = period
        widths = [1] + [min(channels * 2**i, max_channels) for i in range(4)]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (5, 1), stride=(3, 1), padding=(2, 0)))
            for c_in, c_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.convs.append(weight_norm(nn.Conv2d(widths[-1], widths[-1], (5, 1), padding=(2, 0))))
        self.out = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, audio: Tensor) -> tuple[Tensor, list[Tensor]]:
        x = audio.unsqueeze(1)  # (batch, 1, samples)
        pad = (-x.shape[-1]) % self.period
        x = F.pad(x, (0, pad), mode="reflect" if pad < x.shape[-1] else "constant")
        x = x.view(x.shape[0], 1, -1, self.period)  # (batch, 1, samples / period, period)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            features.append(x)
        x = self.out(x)
        features.append(x)
        return x.flatten(1), features


class ResolutionDiscriminator(nn.Module):
    def __init__(self, *, n_fft: int, channels: int = 32) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, channels, (7, 5), stride=(2, 2), padding=(3, 2))),
                weight_norm(nn.Conv2d(channels, channels, (5, 3), stride=(2, 1), padding=(2, 1))),
                weight_norm(nn.Conv2d(channels, channels, (5, 3), stride=(2, 1), padding=(2, 1))),
                weight_norm(nn.Conv2d(channels, channels, 3, padding=1)),
            ]
        )
        self.out = weight_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, audio: Tensor) -> tuple[Tensor, list[Tensor]]:
        spec = torch.stft(
            audio, self.n_fft, self.n_fft // 4, window=self.window, center=True, return_complex=True
        )
        x = spec.abs().clamp(min=1e-5).log().unsqueeze(1)  # (batch, 1, freqs, frames)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            features.append(x)
        x = self.out(x)
        features.append(x)
        return x.flatten(1), features


class Discriminators(nn.Module):
    """Multi-period + multi-resolution STFT discriminators; (batch, samples) -> Judgement."""

    def __init__(
        self,
        *,
        periods: tuple[int, ...] = (2, 3, 5, 7, 11),
        resolutions: tuple[int, ...] = (512, 1024, 2048),
        channels: int = 32,
    ) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            [PeriodDiscriminator(period=p, channels=channels) for p in periods]
            + [ResolutionDiscriminator(n_fft=n, channels=channels) for n in resolutions]
        )

    def forward(self, audio: Tensor) -> Judgement:
        return [member(audio) for member in self.members]


def discriminator_loss(real: Judgement, fake: Judgement) -> Tensor:
    """Hinge loss: real logits pushed above +1, fake below -1."""
    total = real[0][0].new_zeros(())
    for (real_logits, _), (fake_logits, _) in zip(real, fake, strict=True):
        total = total + F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return total / len(real)


def generator_loss(fake: Judgement) -> Tensor:
    """Hinge generator loss: make every discriminator score the reconstruction as real."""
    return sum(F.relu(1 - logits).mean() for logits, _ in fake) / len(fake)


def feature_matching_loss(real: Judgement, fake: Judgement) -> Tensor:
    """Mean L1 between discriminator feature maps of real and reconstructed audio."""
    total, count = real[0][0].new_zeros(()), 0
    for (_, real_maps), (_, fake_maps) in zip(real, fake, strict=True):
        for real_map, fake_map in zip(real_maps, fake_maps, strict=True):
            total = total + (real_map.detach() - fake_map).abs().mean()
            count += 1
    return total / max(count, 1)
