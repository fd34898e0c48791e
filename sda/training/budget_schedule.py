"""Learning rates that end where the run ends: warm-up, then a cosine over the run's budget.

A laptop run is bounded by time (`trainer.max_time`), not by steps, so a schedule written in
steps decays too early for a large set still learning at the end, or hardly at all for a small
set that peaks early and then wobbles at a high rate until the time runs out. Here the budget's
length in steps is estimated from the run's own pace (steps per second since the first estimate,
so the start-up's k-means and sanity check do not count) and the time left, re-estimated every
`ESTIMATE_EVERY` steps; with `max_steps` alone it is exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lightning.pytorch.callbacks import Timer

ESTIMATE_EVERY = 50  # steps between estimates of how many steps the budget holds


class BudgetSchedule:
    """A `LambdaLR` factor: linear warm-up, then cosine from 1 to `min_ratio` at the budget's end.

    Under DDP every rank takes rank 0's estimate (a broadcast every `ESTIMATE_EVERY` steps, made
    inside the scheduler's step, which every rank calls at the same step), so the ranks' rates
    never differ."""

    def __init__(self, trainer: Callable[[], Any], *, warmup_steps: int, min_ratio: float) -> None:
        self._trainer = trainer
        self.warmup_steps = int(warmup_steps)
        self.min_ratio = float(min_ratio)
        self.total: int | None = None  # steps the budget holds, as last estimated
        self._estimated = False
        self._mark: tuple[int, float] | None = None  # (step, seconds) the pace is taken from

    def __call__(self, step: int) -> float:
        # at the first step (it marks where the pace is taken from; a resumed run's first step
        # estimates from the whole run), then every ESTIMATE_EVERY steps: one broadcast each
        # under DDP, also when there is no budget to estimate
        if step > 0 and (not self._estimated or step % ESTIMATE_EVERY == 0):
            self.total, self._estimated = self._estimate(step), True
        warm = min(1.0, (step + 1) / max(self.warmup_steps, 1))
        if self.total is None or self.total <= self.warmup_steps:
            return warm
        progress = min(1.0, max(0, step - self.warmup_steps) / (self.total - self.warmup_steps))
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return warm * (self.min_ratio + (1 - self.min_ratio) * cosine)

    def _estimate(self, step: int) -> int | None:
        trainer = self._trainer()
        bound = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        remaining = None if timer is None else timer.time_remaining()
        if remaining is not None:
            elapsed = timer.time_elapsed()
            if self._mark is None:  # the first estimate (or the first after a resume)
                self._mark = (step, elapsed)
                pace = step / max(elapsed, 1e-6)
            else:
                first_step, first_elapsed = self._mark
                pace = (step - first_step) / max(elapsed - first_elapsed, 1e-6)
            by_time = step + int(pace * max(remaining, 0.0))
            bound = by_time if bound is None else min(bound, by_time)
        return trainer.strategy.broadcast(bound)


def budget_lr_lambda(
    trainer: Callable[[], Any], *, warmup_steps: int, min_ratio: float
) -> Callable[[int], float]:
    """A `BudgetSchedule` as a plain function for `LambdaLR`: its state_dict pickles a callable
    object's attributes into the checkpoint (a trainer among them), never a function's. A
    resumed run re-estimates the budget at its first step."""
    schedule = BudgetSchedule(trainer, warmup_steps=warmup_steps, min_ratio=min_ratio)
    return lambda step: schedule(step)
