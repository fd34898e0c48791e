"""Random training draws that carry on across a resume instead of starting over.

Each training item is drawn from a seed (a random crop, a random window). `DrawSeeds` gives pass
p of the data the seeds of (seed, p) alone, and `ResumableLoader` saves in every checkpoint which
pass it was in and how many batches of it it had handed out; Lightning hands that back on resume
(`state_dict` / `load_state_dict`, what its "dataloader is not resumable" warning asks for). A
restarted plain loader replayed the first run's draws from the beginning; a resumed run now goes
on with draws it has not used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Sampler


class DrawSeeds(Sampler[int]):
    """`count` random seeds per pass: pass p's depend only on (seed, p); one pass per epoch."""

    def __init__(self, count: int, seed: int) -> None:
        self.count, self.seed = count, seed
        self.passes = 0  # passes started
        self.start = 0  # where the next pass begins (draws already used before a resume)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.passes])
        seeds = rng.integers(0, 2**63 - 1, size=self.count)
        start, self.start = self.start, 0
        self.passes += 1
        # the pass keeps its full length (Lightning and DDP's sampler wrapper count on len()):
        # the draws used before the resume come last, where Lightning, counting, never reaches
        return iter(np.roll(seeds, -start).tolist())


class ResumableLoader(DataLoader):
    """A training DataLoader over `DrawSeeds` whose position goes into checkpoints."""

    _first = 0  # the draw the current pass began at (not 0 right after a resume)
    _served = 0  # batches handed out in the current pass

    def __iter__(self):
        draws = self._draws()
        self._first, self._served = (draws.start if draws is not None else 0), 0
        # counted when handed out; Lightning may fetch one ahead of training, which a resume then
        # skips: draws are never repeated
        for batch in super().__iter__():
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        draws = self._draws()
        if draws is None:
            return {}
        current = max(draws.passes - 1, 0)
        used = self._first + self._served * self._draws_per_batch()
        if self._served >= len(self) or used >= len(draws):  # used up: a resume starts the next
            return {"pass": current + 1, "draws": 0}
        return {"pass": current, "draws": used}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        draws = self._draws()
        if draws is not None and "pass" in state:
            draws.passes, draws.start = int(state["pass"]), int(state["draws"])

    def _draws(self) -> DrawSeeds | None:
        """Our sampler, also when Lightning wrapped it for DDP: its DistributedSamplerWrapper
        keeps it as `.dataset._sampler` (where the wrapper's own set_epoch finds it too)."""
        sampler = self.sampler
        inner = getattr(getattr(sampler, "dataset", None), "_sampler", None)
        return next((s for s in (sampler, inner) if isinstance(s, DrawSeeds)), None)

    def _draws_per_batch(self) -> int:
        # under DDP every rank takes a batch of the one seed list at each step
        return (self.batch_size or 1) * int(getattr(self.sampler, "num_replicas", 1))
