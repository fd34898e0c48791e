"""Tension steered at every draw: the prior's logits tilted by what each code sounds like.

A prior trained with `sda.training.code_tension` carries, beside its controls' ranges, each
code's tension over its level's mean (0..1 units of the control) and the material's mean tension
(the neutral point). When tension is asked for, every draw adds

    STRENGTH * (setting - neutral) * table[level, code]

to the logits of the codec's levels (a stereo grid's mid rows; the side and direction rows are
left alone): a setting above the material's average favours the codes heard in tense sound, one
below favours the calm ones, one at the average leaves the prior as it is. The tilt follows a
curve frame by frame. It costs one addition per draw, so a single take lands on the setting
where keeping the best of 4 guided takes cost 4x the time (experiments/RESULTS.md). Priors
trained before the table existed carry none: tension then falls back to the guided candidates
(`sda.generate.sampling_defaults`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from sda.audio.descriptors import CONTROL_NAMES

STATS_KEY = "code_tension"  # beside the controls' ranges in a prior's descriptor stats
TENSION = CONTROL_NAMES.index("tension")
# nats per unit of (setting - neutral) x (code tension - its level's mean): measured on drums and
# stereo textures (strength 10-60 tried, experiments/RESULTS.md); stronger starts to narrow the
# sounds a take is made of without following the setting better
STRENGTH = 30.0


@dataclass(frozen=True)
class CodeSteering:
    """A prior's code tension table and how hard to tilt by it."""

    table: Tensor  # (levels, codebook) float: each code's tension over its level's mean
    neutral: float  # the material's mean tension, 0..1: no tilt there
    strength: float = STRENGTH

    @classmethod
    def of(cls, models: Any) -> CodeSteering | None:
        """The steering a bundle's prior carries, or None (a prior from before the table)."""
        stats = (getattr(models, "meta", None) or {}).get("descriptor_stats") or {}
        record = stats.get(STATS_KEY)
        if not isinstance(record, dict) or "table" not in record:
            return None
        table = torch.tensor(record["table"], dtype=torch.float32)
        if table.dim() != 2:
            return None
        return cls(table=table, neutral=float(record.get("neutral", 0.5)))

    def column_targets(
        self, controls: Tensor | None, control_mask: Tensor | None, batch: int, columns: int
    ) -> Tensor | None:
        """(batch, columns) tension settings of each column, or None when tension is not asked
        for. `controls` are (batch, n) or per frame (batch, frames, n), as the sampler gets them."""
        if controls is None:
            return None
        if control_mask is not None and not bool(control_mask[..., TENSION].any()):
            return None
        values = controls[..., TENSION].float()
        if values.dim() == 1:
            values = values[:, None].expand(-1, columns)
        else:  # the delay pattern's extra columns keep the last frame's setting
            index = torch.arange(columns, device=values.device).clamp(max=values.shape[1] - 1)
            values = values[:, index]
        values = values.expand(batch, -1)
        if control_mask is not None:  # rows that did not ask for tension get no tilt
            asked = control_mask[..., TENSION].reshape(-1, 1).expand(batch, 1)
            values = torch.where(asked, values, torch.full_like(values, self.neutral))
        return values

    def tilt(self, logits: Tensor, settings: Tensor) -> Tensor:
        """(batch, rows, codebook) logits, (batch,) settings -> the tilted logits."""
        table = self.table.to(logits.device, logits.dtype)
        levels = min(table.shape[0], logits.shape[1])
        if table.shape[1] != logits.shape[2]:
            return logits  # a table of another codebook: nothing to steer by
        settings = settings.to(logits.device, logits.dtype)
        pull = (self.strength * (settings - self.neutral))[:, None, None]
        tilted = logits.clone()
        tilted[:, :levels] += pull * table[None, :levels]
        return tilted
