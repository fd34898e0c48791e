"""Steering beyond conditioning: choose among candidates by their measured sound.

Conditioning alone pulls the prior towards the requested brightness, loudness, ... but a prior trained
for minutes on a CPU follows it loosely. Measuring each candidate's decoded audio with the same
descriptors the controls are defined by, and keeping the closest, makes a slider move the sound
reliably; the cost is one batched sampling run and one decode per candidate, and the kept
candidate's audio becomes the take (`sda.generate.render` then sets its level).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure
from sda.generate.curves import ControlValue, keyframes, sample_curve

CURVE_SEGMENTS = 4  # parts a take with a control curve is measured in
CURVE_RESOLUTION = 32  # curve samples per part, for its mean there


@dataclass(frozen=True)
class CandidateChoice:
    """Which candidate was kept, every candidate's distance, and what the kept one measured."""

    index: int
    distances: list[float] = field(default_factory=list)
    measurements: dict[str, float] = field(default_factory=dict)  # raw units, mean over parts


def measure_against(
    audio: np.ndarray,
    sample_rate: int,
    targets: Mapping[str, ControlValue],
    stats: DescriptorStats,
) -> tuple[float, dict[str, float]]:
    """(mean |measured - target| over the given controls on the training set's 0..1 scale,
    the descriptors measured in raw units, averaged over the parts).

    With a curve among the targets the take is measured in CURVE_SEGMENTS equal parts, each
    against the curves' mean over that part, so a rise is told from a constant middle value.
    """
    audio = np.asarray(audio, dtype=np.float32)
    points = {name: keyframes(name, value) for name, value in targets.items()}
    parts = CURVE_SEGMENTS if any(len(p) > 1 for p in points.values()) else 1
    bounds = np.linspace(0, len(audio), parts + 1).astype(int)
    wanted = {  # each control's mean target over each part
        name: sample_curve(keys, CURVE_RESOLUTION * parts).reshape(parts, -1).mean(axis=1)
        for name, keys in points.items()
    }
    gaps, measured = [], []
    for part in range(parts):
        raw = measure(audio[bounds[part] : bounds[part + 1]], sample_rate)
        measured.append([float(raw[name]) for name in CONTROL_NAMES])
        scaled = stats.normalize(np.array(measured[-1]))
        for name, means in wanted.items():
            gaps.append(abs(float(scaled[CONTROL_NAMES.index(name)]) - float(means[part])))
    means = np.mean(measured, axis=0)
    distance = float(np.mean(gaps)) if gaps else 0.0
    return distance, {name: float(value) for name, value in zip(CONTROL_NAMES, means, strict=True)}


def control_distance(
    audio: np.ndarray,
    sample_rate: int,
    targets: Mapping[str, ControlValue],
    stats: DescriptorStats,
) -> float:
    """Mean |measured - target| over the given controls, on the training set's 0..1 scale."""
    return measure_against(audio, sample_rate, targets, stats)[0]


def closest_candidate(
    candidates: list[np.ndarray],
    sample_rate: int,
    targets: Mapping[str, ControlValue],
    stats: DescriptorStats,
) -> CandidateChoice:
    """The candidate audio closest to `targets`, each measured once.

    Ties go to the earliest candidate, so the choice is as deterministic as the candidates.
    """
    results = [measure_against(audio, sample_rate, targets, stats) for audio in candidates]
    distances = [distance for distance, _ in results]
    index = int(np.argmin(distances))
    return CandidateChoice(index, distances, results[index][1])


def bundle_stats(models: Any) -> DescriptorStats | None:
    """The training set's descriptor ranges a bundle carries (what 0..1 means per control), if any."""
    stats = (getattr(models, "meta", None) or {}).get("descriptor_stats")
    return DescriptorStats.from_dict(stats) if stats else None
