"""An exponential moving average of a model's weights: what a codec run validates, keeps and exports.

A short CPU budget ends while the learning rate still moves the weights around a minimum; their
running average sits closer to it than any single step (Polyak averaging). The run trains the
live weights and judges the average: validation swaps it in, and every checkpoint stores it as the
model's weights (so `best.ckpt`, `sda export` and `sda library add` take it) with the live weights
beside it, from which a resumed run goes on training.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import torch
from torch import Tensor, nn

LIVE_WEIGHTS_KEY = "live_weights"  # a checkpoint's trained (not averaged) weights, by name


class WeightAverage:
    """The average of `module`'s parameters; `prefix` names them as a checkpoint's state_dict
    does (e.g. "codec." for a LightningModule's `codec` attribute)."""

    def __init__(self, module: nn.Module, decay: float, prefix: str = "") -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the weight average's decay must lie between 0 and 1, got {decay}")
        self.module, self.decay, self.prefix = module, decay, prefix
        self.names = [name for name, _ in module.named_parameters()]
        self.average: list[Tensor] | None = None  # made at the first update, from the live weights
        self.updates = 0
        self._live_saved: list[Tensor] | None = None  # the live weights while the average is in
        self._held: set[int] = set()  # ids of parameters `hold` has frozen as averaged

    def _live(self) -> list[Tensor]:
        return [p.detach() for p in self.module.parameters()]

    @torch.no_grad()
    def update(self) -> None:
        """Fold the live weights in. The first steps weigh more (decay grows towards its
        setting), so an average begun from random weights does not linger on them."""
        live = self._live()
        if self.average is None:
            self.average = [p.clone() for p in live]
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.average, live, 1.0 - decay)

    @torch.no_grad()
    def hold(self, part: nn.Module) -> None:
        """From now on `part` (a submodule) stops training: its live weights become its average,
        so what trains on its output (the decoder, on a frozen encoder's codes) sees what the
        checkpoints will hold. Its average then stays equal to them."""
        held = {id(p) for p in part.parameters()}
        if self.average is None or held <= self._held:  # once: it is called every frozen step
            return
        for parameter, average in zip(self.module.parameters(), self.average, strict=True):
            if id(parameter) in held:
                parameter.copy_(average)
        self._held |= held

    def reset(self) -> None:
        """Start again from the live weights (after a change that gives the codes new meaning)."""
        self.average, self.updates, self._held = None, 0, set()

    def swap_in(self) -> None:
        """Put the average in the module's parameters (until `swap_out`); no-op before any update."""
        if self.average is None or self._live_saved is not None:
            return
        self._live_saved = [p.clone() for p in self._live()]
        self._copy(self.average)

    def swap_out(self) -> None:
        """Put the live weights back after `swap_in`."""
        if self._live_saved is not None:
            self._copy(self._live_saved)
            self._live_saved = None

    @torch.no_grad()
    def _copy(self, values: list[Tensor]) -> None:
        for parameter, value in zip(self.module.parameters(), values, strict=True):
            parameter.copy_(value)

    def store(self, checkpoint: MutableMapping) -> None:
        """Write the average as the checkpoint's weights and the live ones under LIVE_WEIGHTS_KEY."""
        if self.average is None:
            return
        state = checkpoint["state_dict"]
        checkpoint[LIVE_WEIGHTS_KEY] = {
            self.prefix + name: state[self.prefix + name] for name in self.names
        }
        for name, value in zip(self.names, self.average, strict=True):
            state[self.prefix + name] = value.detach().clone()

    def restore(self, checkpoint: MutableMapping) -> None:
        """Before the checkpoint is loaded: take its weights as the average and put the live ones
        in their place, so training resumes from what it trained. A checkpoint without live
        weights (written without an average) starts the average afresh."""
        live = checkpoint.pop(LIVE_WEIGHTS_KEY, None)
        if live is None:
            self.reset()
            return
        state = checkpoint["state_dict"]
        self.average = [
            state[self.prefix + name].detach().to(p.device, p.dtype).clone()
            for name, p in zip(self.names, self.module.parameters(), strict=True)
        ]
        self.updates = max(self.updates, int(checkpoint.get("global_step", 0)))
        state.update(live)
