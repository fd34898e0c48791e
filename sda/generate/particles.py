"""Steering a take while it is drawn: candidates as particles, the closest kept every second,
and the conditioning corrected by what was measured.

Choosing the best of several whole takes (the candidates' old way) picks among a few finished
takes; here the choice compounds. The candidates are drawn side by side in one batch, and every
`CHUNK_SECONDS` of new frames each one's latest chunk is decoded (the mid: the codec's own
levels), measured with the descriptors the controls are defined by, and every row continues from
the one closest to the controls' values over that chunk (`sda.generate.sampling.Selection`): a
take drifting away from the tension asked for is pulled back within a second. Two steered
candidates followed tension about as well as the best of four whole takes did, at 1.5x the speed
(experiments/RESULTS.md, "## Prior", 2026-12-05); `sda generate` now steers three, unguided
(`sda.generate.sampling_defaults`).

Feedback: the chunk just measured also corrects what the prior is asked from then on, for the
controls the render cannot set (tension). The gap between the setting and what was drawn
accumulates into an offset on the setting the prior is conditioned on (integral control, bounded
to 0..1), so a take that plays calmer than asked is asked for more tension until it gets there.
One take (a batch of one: nothing to choose, only measured) follows tension this way about as
well as two steered candidates without it, in about 70 % of their time (drums, 20 s takes:
15.1-15.6x against 10.7-11.3x real time; RESULTS.md, "tension fed back" and "long takes draw
fewer columns").

Which controls the chunks are measured by: those the render cannot set (`sampling_defaults`:
tension, which lives in the notes), when any is asked for; otherwise every control asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate.curves import ControlValue, keyframes, sample_curve
from sda.generate.sampling import Selection
from sda.generate.sampling_defaults import notes_controls
from sda.generate.steering import control_distance, measured_controls
from sda.models.delay_pattern import undo_delay

CHUNK_SECONDS = 1.0  # new audio between choices: long enough to measure, short enough to steer
CONTEXT_FRAMES = 8  # frames decoded before a chunk, so its start is not the decoder's edge
# Offset added per chunk per unit of gap (0..1 scale). Measured on the drums prior, 8 s takes,
# 8 seeds: 0.5 / 1 / 2 -> rho 0.81 / 0.91-0.92 / 0.88-0.89 against 0.75 without; chunks of
# 0.5 s were worse (0.79-0.81: the descriptor on half a second is noisier).
FEEDBACK_GAIN = 1.0


def steered_names(targets: Mapping[str, ControlValue]) -> list[str]:
    """The controls chunks are measured by: the notes' controls if any is asked for, else all."""
    notes = notes_controls(targets)
    return notes or list(targets)


@dataclass
class ParticleSteering:
    """Chooses among the rows of a batch of candidates, chunk by chunk, for one take, and
    corrects the notes' controls the prior is given (a batch of one: only the correction)."""

    codec: Any
    stats: DescriptorStats
    targets: Mapping[str, ControlValue]  # as the prior reads them (`conditioning_controls`)
    frames: int  # the take's new frames
    distances: list[float] = field(default_factory=list)  # of the latest choice, per row
    offsets: dict[str, float] = field(default_factory=dict)  # feedback, per notes control
    # the row (as it entered the current window) every row descends from after the window's
    # first choice; None before it. The rows' history before the window must follow it.
    root: int | None = None

    def __post_init__(self) -> None:
        config = self.codec.config
        self.chunk = max(1, round(CHUNK_SECONDS * float(config.frame_rate)))
        self.curves = {  # per steered control, its target at each frame of the take
            name: sample_curve(keyframes(name, self.targets[name]), self.frames)
            for name in steered_names(self.targets)
        }
        self.offsets = dict.fromkeys(notes_controls(self.curves), 0.0)

    def selection(self, take_offset: int) -> Selection:
        """The hook for one window whose first frame is the take's frame `take_offset` (a
        prompt's frames count negative)."""
        self.root = None
        return Selection(
            self.chunk,
            lambda delayed: self._choose(delayed, take_offset),
            self.conditioned if self.offsets else None,
        )

    def lineage(self, rows: int) -> torch.Tensor | None:
        """Which row each of `rows` descends from since the window began: all from the window's
        first choice, or None before it (each its own)."""
        return None if self.root is None else torch.full((rows,), self.root, dtype=torch.long)

    def wanted(self, start: int, end: int) -> dict[str, float]:
        """Each steered control's mean target over the take's frames start..end."""
        span = slice(max(0, start), max(1, end))
        return {name: float(np.mean(curve[span])) for name, curve in self.curves.items()}

    def conditioned(self, controls: torch.Tensor) -> torch.Tensor:
        """The controls asked for (..., num_controls) with the feedback's offsets added, 0..1."""
        corrected = controls.clone()
        for name, offset in self.offsets.items():
            index = CONTROL_NAMES.index(name)
            corrected[..., index] = (corrected[..., index] + offset).clamp(0.0, 1.0)
        return corrected

    def _choose(self, delayed: torch.Tensor, take_offset: int) -> torch.Tensor | None:
        levels = delayed.shape[1]
        complete = delayed.shape[2] - levels + 1  # frames whose every level is drawn
        start = max(0, complete - self.chunk, -take_offset)  # never a prompt's frames alone
        if complete - start < self.chunk // 2:
            return None
        grid = undo_delay(delayed[:, :, : complete + levels - 1])
        best = self.closest(grid, start, complete, take_offset)
        if grid.shape[0] == 1:
            return None
        if self.root is None:  # later choices pick among rows that all descend from this one
            self.root = best
        return torch.full((grid.shape[0],), best, dtype=torch.long)

    def closest(self, grid: torch.Tensor, start: int, end: int, take_offset: int = 0) -> int:
        """The row of `grid` (rows, grid levels, frames) whose frames start..end measure closest
        to the targets over the take's frames take_offset + start..end; ties to the first. What
        that row measured feeds the offsets."""
        spf = int(self.codec.config.samples_per_frame)
        context = min(CONTEXT_FRAMES, start)
        mid = grid[:, : self.codec.config.num_levels, start - context : end]
        with torch.inference_mode():
            audio = self.codec.decode(mid.to(next(self.codec.parameters()).device))
        audio = audio[:, context * spf :].float().cpu().numpy()
        wanted = self.wanted(take_offset + start, take_offset + end)
        rate = int(self.codec.config.sample_rate)
        measured = [measured_controls(row, rate, list(wanted), self.stats) for row in audio]
        self.distances = [control_distance(row, wanted) for row in measured]
        best = int(np.argmin(self.distances))
        for name, offset in self.offsets.items():  # integral feedback, kept within 0..1
            gap = wanted[name] - measured[best][name]
            self.offsets[name] = float(
                np.clip(offset + FEEDBACK_GAIN * gap, -wanted[name], 1.0 - wanted[name])
            )
        return best
