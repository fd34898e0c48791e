"""Steering a take while it is drawn: candidates as particles, the closest kept every second.

Choosing the best of several whole takes (the candidates' old way) picks among a few finished
takes; here the choice compounds. The candidates are drawn side by side in one batch, and every
`CHUNK_SECONDS` of new frames each one's latest chunk is decoded (the mid: the codec's own
levels), measured with the descriptors the controls are defined by, and every row continues from
the one closest to the controls' values over that chunk (`sda.generate.sampling.Selection`): a
take drifting away from the tension asked for is pulled back within a second. Two steered
candidates follow tension about as well as the best of four whole takes did, at 1.5x the speed
(experiments/RESULTS.md, "## Prior", 2026-12-05).

Which controls the chunks are measured by: those the render cannot set (`sampling_defaults`:
tension, which lives in the notes), when any is asked for; otherwise every control asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sda.audio.descriptors import DescriptorStats
from sda.generate.curves import ControlValue, keyframes, sample_curve
from sda.generate.sampling import Selection
from sda.generate.sampling_defaults import ONE_TAKE
from sda.generate.steering import control_distance
from sda.models.delay_pattern import undo_delay

CHUNK_SECONDS = 1.0  # new audio between choices: long enough to measure, short enough to steer
CONTEXT_FRAMES = 8  # frames decoded before a chunk, so its start is not the decoder's edge


def steered_names(targets: Mapping[str, ControlValue]) -> list[str]:
    """The controls chunks are measured by: the notes' controls if any is asked for, else all."""
    notes = [name for name in targets if name not in ONE_TAKE]
    return notes or list(targets)


@dataclass
class ParticleSteering:
    """Chooses among the rows of a batch of candidates, chunk by chunk, for one take."""

    codec: Any
    stats: DescriptorStats
    targets: Mapping[str, ControlValue]  # as the prior reads them (`conditioning_controls`)
    frames: int  # the take's new frames
    distances: list[float] = field(default_factory=list)  # of the latest choice, per row

    def __post_init__(self) -> None:
        config = self.codec.config
        self.chunk = max(1, round(CHUNK_SECONDS * float(config.frame_rate)))
        self.curves = {  # per steered control, its target at each frame of the take
            name: sample_curve(keyframes(name, self.targets[name]), self.frames)
            for name in steered_names(self.targets)
        }

    def selection(self, take_offset: int) -> Selection:
        """The hook for one window whose first frame is the take's frame `take_offset` (a
        prompt's frames count negative)."""
        return Selection(self.chunk, lambda delayed: self._choose(delayed, take_offset))

    def wanted(self, start: int, end: int) -> dict[str, float]:
        """Each steered control's mean target over the take's frames start..end."""
        span = slice(max(0, start), max(1, end))
        return {name: float(np.mean(curve[span])) for name, curve in self.curves.items()}

    def _choose(self, delayed: torch.Tensor, take_offset: int) -> torch.Tensor | None:
        levels = delayed.shape[1]
        complete = delayed.shape[2] - levels + 1  # frames whose every level is drawn
        start = max(0, complete - self.chunk, -take_offset)  # never a prompt's frames alone
        if complete - start < self.chunk // 2:
            return None
        grid = undo_delay(delayed[:, :, : complete + levels - 1])
        best = self.closest(grid, start, complete, take_offset)
        return torch.full((grid.shape[0],), best, dtype=torch.long)

    def closest(self, grid: torch.Tensor, start: int, end: int, take_offset: int = 0) -> int:
        """The row of `grid` (rows, grid levels, frames) whose frames start..end measure closest
        to the targets over the take's frames take_offset + start..end; ties to the first."""
        spf = int(self.codec.config.samples_per_frame)
        context = min(CONTEXT_FRAMES, start)
        mid = grid[:, : self.codec.config.num_levels, start - context : end]
        with torch.inference_mode():
            audio = self.codec.decode(mid.to(next(self.codec.parameters()).device))
        audio = audio[:, context * spf :].float().cpu().numpy()
        wanted = self.wanted(take_offset + start, take_offset + end)
        rate = int(self.codec.config.sample_rate)
        self.distances = [control_distance(row, rate, wanted, self.stats) for row in audio]
        return int(np.argmin(self.distances))
