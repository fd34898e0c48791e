"""Steering beyond conditioning: how close a sound measures to the controls asked for.

Conditioning alone pulls the prior towards the requested tension, brightness, ... but a prior
trained for minutes on a CPU follows it loosely. Measuring candidates' decoded audio with the same
descriptors the controls are defined by, and keeping the closest, makes a slider move the sound
reliably; `sda.generate.particles` does it chunk by chunk while a take is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure, measure_tension

# Steering reads the dissonance on one analysis frame in 4 (`measure_tension`'s stride): on 172
# one-second chunks of four real sets it gives the full measure's order (rho 0.998; 99 % of
# pairs, 93 % of pairs within 30 % of each other, in the same order) at under half the cost
# (experiments/RESULTS.md, Prior, "tension fed back while a take is drawn").
TENSION_STRIDE = 4


def measured_controls(
    audio: np.ndarray, sample_rate: int, names: list[str], stats: DescriptorStats
) -> dict[str, float]:
    """The controls `names` as `audio` measures them, on the training set's 0..1 scale."""
    audio = np.asarray(audio, dtype=np.float32)
    if set(names) == {"tension"}:  # steering's usual case: one descriptor, not all six
        raw = dict.fromkeys(CONTROL_NAMES, 0.0) | {
            "tension": measure_tension(audio, sample_rate, stride=TENSION_STRIDE)
        }
    else:
        raw = measure(audio, sample_rate)
    scaled = stats.normalize(np.array([raw[name] for name in CONTROL_NAMES]))
    return {name: float(scaled[CONTROL_NAMES.index(name)]) for name in names}


def control_distance(measured: Mapping[str, float], wanted: Mapping[str, float]) -> float:
    """Mean |measured - wanted| over the controls in `wanted` (0..1 values)."""
    gaps = [abs(measured[name] - value) for name, value in wanted.items()]
    return float(np.mean(gaps)) if gaps else 0.0


def stats_record(models: Any) -> dict[str, Any] | None:
    """The descriptor-stats record a bundle's meta carries (the controls' ranges, the material's
    level, what the codec keeps, how tension is sampled), or None."""
    return (getattr(models, "meta", None) or {}).get("descriptor_stats")


def bundle_stats(models: Any) -> DescriptorStats | None:
    """The training set's descriptor ranges a bundle carries (what 0..1 means per control), if any."""
    stats = stats_record(models)
    return DescriptorStats.from_dict(stats) if stats else None
