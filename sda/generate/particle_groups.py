"""Several takes steered side by side in one batch: each group of rows is one take's candidates.

A loop's take is drawn as two halves at once (`sda.generate.loop_take`); steered, each half has
its own candidates. The batch holds them group after group (the first half's candidates, then the
second's), and each group is steered by its own `ParticleSteering` against its own stretch of the
controls' curves: a choice copies rows only within their group, and the feedback on the notes'
controls is kept per group, since the halves are different music until the loop joins them.
On a CPU the groups' chunks are decoded and measured side by side, one torch thread each
(`sda.dna.side_by_side`): two groups of 3 rows in 37 ms against 58 ms one after the other
(experiments/RESULTS.md, Prior, 2026-12-07 night).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sda.dna.side_by_side import side_by_side
from sda.generate.particles import ParticleSteering
from sda.generate.sampling import Selection


@dataclass
class ParticleGroups:
    """Steers `len(groups)` groups of `rows` rows each; group g's take starts at the whole take's
    frame `starts[g]` (its controls are read from there)."""

    groups: Sequence[ParticleSteering]
    starts: Sequence[int]
    rows: int
    # the column after which to choose last (choices every chunk before it, none after), e.g.
    # the one that completes the halves' own frames; None: every chunk from the first drawn
    choose_last: int | None = None

    def __post_init__(self) -> None:
        self.chunk = self.groups[0].chunk
        # the cores to measure groups on: read here, since the sampling loop that calls the
        # hook runs torch on one thread
        self.workers = torch.get_num_threads()
        self.on_cpu = next(self.groups[0].codec.parameters()).device.type == "cpu"

    def selection(self, take_offset: int) -> Selection:
        """The hook for one window whose first frame is each group's frame `take_offset`."""
        hooks = [
            group.selection(take_offset + start)
            for group, start in zip(self.groups, self.starts, strict=True)
        ]

        def choose(delayed: torch.Tensor) -> torch.Tensor | None:
            jobs = [(hook, self._rows(delayed, g)) for g, hook in enumerate(hooks)]
            picks = self._each(lambda job: job[0].choose(job[1]), jobs)
            if all(pick is None for pick in picks):
                return None
            return self._lineage(picks, delayed.device)

        corrects = any(hook.condition is not None for hook in hooks)
        condition = self._conditioned if corrects else None
        return Selection(self.chunk, choose, condition, last=self.choose_last)

    def lineage(self, rows: int) -> torch.Tensor | None:
        """Which row each of the batch's rows (`rows`, all groups' together) descends from since
        the window began (None: each its own), as `ParticleSteering.lineage`."""
        if rows != self.rows * len(self.groups):
            raise ValueError(f"{rows} rows are not {len(self.groups)} groups of {self.rows}")
        picks = [group.lineage(self.rows) for group in self.groups]
        if all(pick is None for pick in picks):
            return None
        return self._lineage(picks, torch.device("cpu"))

    def closest(self, grids: torch.Tensor, ends: Sequence[int]) -> list[int]:
        """Each group's final choice: its row closest to the controls over its last chunk, group g
        measured on its frames up to `ends[g]`."""
        jobs = [
            (group, self._rows(grids, g), start, end)
            for g, (group, start, end) in enumerate(
                zip(self.groups, self.starts, ends, strict=True)
            )
        ]
        return self._each(lambda job: self._final_choice(*job), jobs)

    def closest_in(self, group: int, grids: torch.Tensor, end: int) -> int:
        """Group `group`'s final choice alone (as `closest`'s)."""
        rows = self._rows(grids, group)
        return self._final_choice(self.groups[group], rows, self.starts[group], end)

    def _final_choice(self, group: ParticleSteering, rows, start: int, end: int) -> int:
        return group.closest(rows, max(0, end - self.chunk), end, take_offset=start)

    def _each(self, job, items: list) -> list:
        """`job(item)` for each group's item, side by side on a CPU (each group's own state only)."""
        return list(side_by_side(job, items, on_cpu=self.on_cpu, workers=self.workers))

    def _conditioned(self, controls: torch.Tensor) -> torch.Tensor:
        parts = [self._rows(controls, g) for g in range(len(self.groups))]
        return torch.cat(
            [group.conditioned(part) for group, part in zip(self.groups, parts, strict=True)]
        )

    def _rows(self, tensor: torch.Tensor, group: int) -> torch.Tensor:
        return tensor[group * self.rows : (group + 1) * self.rows]

    def _lineage(self, picks: Sequence[torch.Tensor | None], device: torch.device) -> torch.Tensor:
        own = torch.arange(self.rows, device=device)
        return torch.cat([
            (own if pick is None else pick.to(device)) + g * self.rows
            for g, pick in enumerate(picks)
        ])  # fmt: skip
