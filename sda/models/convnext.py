"""ConvNeXt 1-D blocks: the frame-rate backbone shared by the codec's encoder and decoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConvNeXtBlock(nn.Module):
    """Depthwise conv -> LayerNorm -> pointwise MLP -> layer scale, with a residual connection.

    Working at STFT frame rate (~94 frames/s) instead of sample rate is what makes the codec cheap
    on a CPU: every block costs about `2 * dim * hidden` multiply-adds per frame.
    """

    def __init__(
        self,
        *,
        dim: int,
        hidden_dim: int,
        kernel_size: int = 7,
        layer_scale: float = 1.0 / 8,
    ) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(
            dim, dim, kernel_size=kernel_size, padding=kernel_size // 2, groups=dim
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pointwise_in = nn.Linear(dim, hidden_dim)
        self.activation = nn.GELU()
        self.pointwise_out = nn.Linear(hidden_dim, dim)
        # a small layer scale keeps a deep stack close to identity at initialisation
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: Tensor) -> Tensor:
        # x: (batch, dim, frames)
        residual = x
        x = self.depthwise(x).transpose(1, 2)  # (batch, frames, dim)
        x = self.pointwise_out(self.activation(self.pointwise_in(self.norm(x))))
        return residual + (self.gamma * x).transpose(1, 2)


class ConvNeXtStack(nn.Sequential):
    """`blocks` ConvNeXt blocks of the same width; (batch, dim, frames) -> same shape."""

    def __init__(self, *, dim: int, blocks: int, mlp_ratio: float = 3.0, kernel_size: int = 7):
        hidden = int(round(dim * mlp_ratio))
        super().__init__(
            *(
                ConvNeXtBlock(
                    dim=dim,
                    hidden_dim=hidden,
                    kernel_size=kernel_size,
                    layer_scale=1.0 / max(blocks, 1),
                )
                for _ in range(blocks)
            )
        )
