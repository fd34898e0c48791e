"""Which controls a codec keeps: each descriptor of the material against its decoded copy.

Every take is decoded by the model's codec, so a control whose descriptor the decoder does not
keep cannot be reached by any sampling: the takes only span what the decoder can play (on the
textures set, tension's decoded windows span 0.13-0.50 of the material's 0.01-0.72;
experiments/RESULTS.md, "## Prior"). Measured once when a prior is trained, the fidelity lets
`sda generate` and the app say which sliders will move the take little with this model.

Fidelity is the rank correlation (Spearman) of the six descriptors over 1 s windows (hop 0.5 s),
original against decoded: 1 when the decoded copy orders the windows as the material does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorFrames, aggregate

FIDELITY_KEY = "control_fidelity"  # kept beside the controls' ranges in the descriptor stats
# Textures' tension kept 0.52: its takes stayed within a narrow band whatever was asked. Drums'
# tension kept 0.88, and steering moved it across the material's range.
WEAK_BELOW = 0.7
WINDOW_SECONDS = 1.0


def window_descriptors(
    original: DescriptorFrames, decoded: DescriptorFrames, samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw descriptors (windows, 6) of the first `samples` of both: 1 s windows, hop 0.5 s."""
    window = int(WINDOW_SECONDS * original.sample_rate)
    starts = range(0, max(1, samples - window + 1), window // 2)
    ends = [min(start + window, samples) for start in starts]
    return tuple(
        np.array([aggregate(frames, s, e) for s, e in zip(starts, ends, strict=True)])
        for frames in (original, decoded)
    )


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two equally long series; nan when either is constant or too short."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    from scipy.stats import rankdata  # ties get their mean rank, as Spearman's rho needs

    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def fidelity(original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """{control: rho} from raw descriptors (windows, 6) of the material and of its decoded copy."""
    return {
        name: rank_correlation(original[:, index], decoded[:, index])
        for index, name in enumerate(CONTROL_NAMES)
    }


def weak_controls(stats: Mapping[str, Any] | None) -> dict[str, float]:
    """{control: rho} of the controls a model's codec keeps poorly, from its descriptor stats
    (a bundle's `descriptor_stats`); empty for models trained before fidelity was measured."""
    return weak_among((stats or {}).get(FIDELITY_KEY))


def weak_among(measured: Any) -> dict[str, float]:
    """{control: rho} of the entries of a fidelity record ({control: rho}) under WEAK_BELOW;
    entries that are not a control and a number are skipped."""
    if not isinstance(measured, Mapping):
        return {}
    return {
        str(name): float(rho)
        for name, rho in measured.items()
        if name in CONTROL_NAMES and isinstance(rho, int | float) and rho < WEAK_BELOW
    }


def weak_note(name: str, rho: float) -> str:
    """What a weak control means for a musician, in one line."""
    return (
        f"{name} moves little with this model: its codec keeps {name} poorly (rank correlation "
        f"{rho:.2f} between the material and its decoded copy), so takes follow the slider weakly"
    )


def describe_kept(stats: Mapping[str, Any] | None) -> str | None:
    """ "brightness 0.85, ..., tension 0.53 (moves little)" for a model's descriptor stats: how
    well its codec keeps each control; the bare names for models from before it was measured."""
    stats = stats or {}
    names = [name for name in CONTROL_NAMES if name in stats]
    if not names:
        return None
    measured = stats.get(FIDELITY_KEY)
    if not isinstance(measured, Mapping):
        return ", ".join(names)
    weak = weak_controls(stats)
    parts = []
    for name in names:
        rho = measured.get(name)
        shown = f"{name} {rho:.2f}" if isinstance(rho, int | float) else name
        parts.append(shown + (" (moves little)" if name in weak else ""))
    return ", ".join(parts)
