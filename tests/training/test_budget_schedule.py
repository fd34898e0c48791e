"""The budget schedule: its rate ends at the minimum where the run's time or steps end."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import Timer

from sda.training.budget_schedule import ESTIMATE_EVERY, BudgetSchedule


class SteadyClock(Timer):
    """A Timer whose run makes `pace` steps per second after a `startup` of seconds."""

    def __init__(self, budget: float, pace: float, startup: float) -> None:
        super().__init__(duration={"seconds": budget})
        self.budget, self.pace, self.startup, self.step = budget, pace, startup, 0

    def time_elapsed(self, stage="train") -> float:
        return self.startup + self.step / self.pace

    def time_remaining(self, stage="train") -> float:
        return self.budget - self.time_elapsed()


def trainer_with(clock: Timer | None, max_steps: int = -1):
    broadcast = SimpleNamespace(broadcast=lambda value: value)
    callbacks = [] if clock is None else [clock]
    return SimpleNamespace(max_steps=max_steps, callbacks=callbacks, strategy=broadcast)


def walk(schedule: BudgetSchedule, clock: SteadyClock | None, steps: int) -> list[float]:
    factors = []
    for step in range(steps):
        if clock is not None:
            clock.step = step
        factors.append(schedule(step))
    return factors


def test_a_time_budget_ends_at_the_minimum_rate_where_the_time_ends() -> None:
    # 600 s at 5 steps/s after 20 s of start-up: the budget holds 2,900 steps
    clock = SteadyClock(budget=600.0, pace=5.0, startup=20.0)
    trainer = trainer_with(clock, max_steps=100_000)
    schedule = BudgetSchedule(lambda: trainer, warmup_steps=50, min_ratio=0.1)
    factors = walk(schedule, clock, 2_900)
    assert factors[0] == pytest.approx(1 / 50)
    assert factors[49] == pytest.approx(1.0)
    assert schedule.total == pytest.approx(2_900, abs=ESTIMATE_EVERY)
    assert factors[1_475] == pytest.approx(0.55, abs=0.03)  # halfway: the cosine's middle
    assert factors[-1] == pytest.approx(0.1, abs=0.01)
    after_warmup = factors[50:]
    assert all(a >= b - 1e-9 for a, b in zip(after_warmup, after_warmup[1:], strict=False))


def test_steps_alone_make_a_plain_cosine_over_them() -> None:
    trainer = trainer_with(None, max_steps=1_000)
    schedule = BudgetSchedule(lambda: trainer, warmup_steps=0, min_ratio=0.0)
    factors = walk(schedule, None, 1_001)
    assert factors[500] == pytest.approx(0.5, abs=1e-6)
    assert factors[1_000] == pytest.approx(0.0, abs=1e-9)


def test_the_step_bound_wins_when_it_ends_first() -> None:
    clock = SteadyClock(budget=3_600.0, pace=5.0, startup=0.0)  # time enough for 18,000 steps
    trainer = trainer_with(clock, max_steps=2_000)
    schedule = BudgetSchedule(lambda: trainer, warmup_steps=10, min_ratio=0.1)
    walk(schedule, clock, 200)
    assert schedule.total == 2_000


def test_a_resumed_run_keeps_its_decayed_rate() -> None:
    clock = SteadyClock(budget=600.0, pace=5.0, startup=0.0)
    trainer = trainer_with(clock)
    before = walk(BudgetSchedule(lambda: trainer, warmup_steps=50, min_ratio=0.1), clock, 2_001)
    resumed = BudgetSchedule(lambda: trainer, warmup_steps=50, min_ratio=0.1)
    clock.step = 2_000
    assert resumed(2_000) == pytest.approx(before[2_000], abs=1e-6)
    assert resumed(2_000) < 0.5
