"""Several takes steered side by side in one batch: each group of rows is one take's candidates.

A loop's take is drawn as two halves at once (`sda.generate.loop_take`); steered, each half has
its own candidates. The batch holds them group after group (the first half's candidates, then the
second's), and each group is steered by its own `ParticleSteering` against its own stretch of the
controls' curves: a choice copies rows only within their group, and the feedback on the notes'
controls is kept per group, since the halves are different music until the loop joins them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sda.generate.particles import ParticleSteering
from sda.generate.sampling import Selection


@dataclass
class ParticleGroups:
    """Steers `len(groups)` groups of `rows` rows each; group g's take starts at the whole take's
    frame `starts[g]` (its controls are read from there)."""

    groups: Sequence[ParticleSteering]
    starts: Sequence[int]
    rows: int

    def __post_init__(self) -> None:
        self.chunk = self.groups[0].chunk

    def selection(self, take_offset: int) -> Selection:
        """The hook for one window whose first frame is each group's frame `take_offset`."""
        hooks = [
            group.selection(take_offset + start)
            for group, start in zip(self.groups, self.starts, strict=True)
        ]

        def choose(delayed: torch.Tensor) -> torch.Tensor | None:
            picks = [hook.choose(self._rows(delayed, g)) for g, hook in enumerate(hooks)]
            if all(pick is None for pick in picks):
                return None
            return self._lineage(picks, delayed.device)

        corrects = any(hook.condition is not None for hook in hooks)
        return Selection(self.chunk, choose, self._conditioned if corrects else None)

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
        chosen = []
        for g, (group, start, end) in enumerate(zip(self.groups, self.starts, ends, strict=True)):
            rows = self._rows(grids, g)
            chosen.append(group.closest(rows, max(0, end - self.chunk), end, take_offset=start))
        return chosen

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
