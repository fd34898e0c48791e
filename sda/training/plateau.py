"""The codec's "done" signal: say once when held-out quality has stopped improving.

A musician asks "is it finished?"; this callback answers on the console and in TensorBoard
(`val/plateau`: 0 before, 1 after) and, only when asked to, stops training.

Done means both: the best held-out value gained less than `min_relative_gain` over the last
`patience` validations, and a straight line through the last 2 x `patience` validations does not
promise that much over the next `patience`. The second keeps a bump of noise from reading as the
end: five drum one-shots from scratch were told "done" at step 2,000 by the first rule alone,
and their held-out mel then fell 13 % more (experiments/RESULTS.md, "## Codec", 2026-12-07 night).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import numpy as np

log = logging.getLogger(__name__)
BEST = "checkpoints/best.ckpt"  # where conf/callbacks/default.yaml keeps the best weights


def has_plateaued(bests: list[float], *, patience: int, min_relative_gain: float) -> bool:
    """True when the best-so-far values (one per validation, lower is better) gained less than
    `min_relative_gain` of the older best over the last `patience` validations."""
    if patience < 1 or len(bests) <= patience:
        return False
    before, now = bests[-patience - 1], bests[-1]
    gain = before - now
    return gain <= 0 or gain < min_relative_gain * abs(before)


def projected_gain(values: list[float], *, patience: int) -> float | None:
    """The relative gain (of the latest value) a least-squares line through the last
    2 x `patience` + 1 raw validation values promises over the next `patience` validations
    (negative: rising); None with fewer than `patience` + 1 values to draw it through."""
    recent = values[-2 * patience - 1 :]
    if len(recent) < max(patience + 1, 2):
        return None
    slope = float(np.polyfit(np.arange(len(recent)), recent, 1)[0])
    return -slope * patience / abs(recent[-1]) if recent[-1] else 0.0


class QualityPlateau(L.Callback):
    """Watches a validation metric (lower is better) and announces the plateau once.

    The metric is synced across DDP ranks before callbacks see it, so every rank reaches the same
    verdict; only rank zero speaks. The memory of past validations is saved in checkpoints, so a
    resumed run keeps counting where it stopped.
    """

    def __init__(
        self,
        *,
        monitor: str = "val/mel_distance",
        patience: int = 5,
        min_relative_gain: float = 0.01,
        stop_on_plateau: bool = False,
    ) -> None:
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be at least 1 validation, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.min_relative_gain = min_relative_gain
        self.stop_on_plateau = stop_on_plateau
        self.bests: list[float] = []  # best-so-far after each validation, newest last
        self.values: list[float] = []  # each validation's own value, newest last (the trend)
        self.best_step: int | None = None
        self.reached_step: int | None = None  # the step at which the plateau was announced

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor)

    @property
    def reached(self) -> bool:
        return self.reached_step is not None

    def message(self) -> str:
        best = self.bests[-1] if self.bests else float("nan")
        head = (
            f"done: held-out quality has stopped improving (best {self.monitor} {best:.4f} at step "
            f"{self.best_step}); further training changes little"
        )
        if self.stop_on_plateau:
            return f"{head} — stopping (stop_on_plateau=true); the best weights are in {BEST}"
        return (
            f"{head} — stop now (Ctrl-C keeps the best weights, {BEST}, which "
            "`sda library add` uses) or let it run"
        )

    def observe(self, value: float, step: int) -> bool:
        """Record one validation's value; True the first time the plateau is reached."""
        if not math.isfinite(value):  # a diverged validation says nothing about a plateau
            return False
        if not self.bests or value < self.bests[-1]:
            self.best_step = step
        self.bests.append(min(value, self.bests[-1]) if self.bests else value)
        self.values.append(value)
        del self.bests[: -self.patience - 1]  # only the windows are needed, and they stay small
        del self.values[: -2 * self.patience - 1]
        if self.reached or not has_plateaued(
            self.bests, patience=self.patience, min_relative_gain=self.min_relative_gain
        ):
            return False
        trend = projected_gain(self.values, patience=self.patience)
        if trend is not None and trend >= self.min_relative_gain:  # still falling, by its trend
            return False
        self.reached_step = step
        return True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.reached and trainer.is_global_zero:  # a resumed run: remind, do not announce again
            log.info("held-out quality had already stopped improving at step %d", self.reached_step)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # here rather than at validation end: the metric is already reduced (and synced across
        # ranks), the flag is logged at the same step as the metric, and checkpoints saved at
        # validation end (best.ckpt, step files) hold the updated memory
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:  # this model does not log the metric (or validation is off)
            return
        if self.observe(float(value), trainer.global_step) and trainer.is_global_zero:
            log.warning(self.message())
        pl_module.log("val/plateau", float(self.reached), on_epoch=True, sync_dist=True)
        # a collective call, made on every rank at every validation as EarlyStopping makes it
        if self.stop_on_plateau and trainer.strategy.reduce_boolean_decision(
            self.reached, all=False
        ):
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        # plain numbers only: checkpoints are read back with torch.load(weights_only=True)
        return {
            "bests": [float(v) for v in self.bests],
            "values": [float(v) for v in self.values],
            "best_step": self.best_step,
            "reached_step": self.reached_step,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.bests = [float(v) for v in state_dict.get("bests", [])][-self.patience - 1 :]
        # a checkpoint from before the trend was kept has no values: the best-so-far rule judges
        # alone until enough validations are seen again
        self.values = [float(v) for v in state_dict.get("values", [])][-2 * self.patience - 1 :]
        self.best_step = state_dict.get("best_step")
        self.reached_step = state_dict.get("reached_step")
