"""Steering by choice: sample several candidate grids, keep the one that sounds closest to the controls.

Conditioning alone pulls the prior towards the requested brightness, loudness, ... but a prior trained
for minutes on a CPU follows it loosely. Measuring each candidate's decoded audio with the same
descriptors the controls are defined by, and keeping the closest, makes a slider move the sound
reliably; the cost is one batched sampling run and one decode per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure

MAX_CANDIDATES = 16


def control_distance(
    audio: np.ndarray, sample_rate: int, targets: Mapping[str, float], stats: DescriptorStats
) -> float:
    """Mean |measured - target| over the given controls, on the training set's 0..1 scale."""
    raw = measure(np.asarray(audio, dtype=np.float32), sample_rate)
    scaled = stats.normalize(np.array([raw[name] for name in CONTROL_NAMES]))
    gaps = [
        abs(float(scaled[CONTROL_NAMES.index(name)]) - float(value))
        for name, value in targets.items()
    ]
    return float(np.mean(gaps)) if gaps else 0.0


def closest_candidate(
    candidates: list[np.ndarray],
    sample_rate: int,
    targets: Mapping[str, float],
    stats: DescriptorStats,
) -> tuple[int, list[float]]:
    """Index of the candidate audio closest to `targets`, and every candidate's distance.

    Ties go to the earliest candidate, so the choice is as deterministic as the candidates.
    """
    distances = [control_distance(audio, sample_rate, targets, stats) for audio in candidates]
    return int(np.argmin(distances)), distances
