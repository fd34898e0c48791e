"""A pull of the weights back towards where a fine-tune started (the base codec's).

A fine-tune on a few minutes of audio takes thousands of noisy steps; without a pull the
decoder's weights drift ~45 % of their norm from the base's and forget what the user's set does
not contain. After each update, every weight moves `strength` x the learning rate of the way
back to its starting value: a change the gradients keep asking for stays (Adam's steps are
~the learning rate each), a drift they do not sustain decays (L2-SP, decoupled as AdamW's
weight decay is, but towards the start instead of zero).
"""

from __future__ import annotations

from collections.abc import MutableMapping

import torch
from torch import Tensor, nn

ANCHOR_KEY = "weight_anchor"  # the starting weights in a checkpoint, for a resumed run


class WeightAnchor:
    """The starting weights of `module` and the pull towards them."""

    def __init__(self, module: nn.Module, strength: float) -> None:
        if strength <= 0:
            raise ValueError(f"the anchor's strength must be positive, got {strength}")
        self.module, self.strength = module, strength
        self.start: list[Tensor] | None = None  # taken at the fit's start, or from a checkpoint

    def take(self) -> None:
        """The module's weights now are where it started (a resumed run keeps its own)."""
        if self.start is None:
            self.start = [p.detach().clone() for p in self.module.parameters()]

    @torch.no_grad()
    def pull(self, learning_rate: float) -> None:
        if self.start is None:
            return
        live = [p.detach() for p in self.module.parameters()]
        torch._foreach_lerp_(live, self.start, min(1.0, self.strength * learning_rate))

    def store(self, checkpoint: MutableMapping) -> None:
        if self.start is not None:
            checkpoint[ANCHOR_KEY] = [t.clone() for t in self.start]

    def restore(self, checkpoint: MutableMapping) -> None:
        start = checkpoint.pop(ANCHOR_KEY, None)
        if start is not None:
            params = list(self.module.parameters())
            self.start = [t.to(p.device, p.dtype) for t, p in zip(start, params, strict=True)]
