"""A model's training figures in a musician's words ("sound quality: 1.80 (lower is better)").

The library keeps the raw metric names training logged (`val/mel_distance`, ...); the Library tab
shows only the ones a musician can act on, each named for what it hears, with which way is good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """How one logged metric reads: its words, its way of being better, how to print it."""

    words: str
    better: str  # "lower is better", "higher is better"
    digits: int = 2
    unit: str = ""


# Logged name -> words. Names are matched without "best " / " (best)" (those give the best value).
FIGURES = {
    "val/mel_distance": Figure("sound quality", "lower is better"),
    "val/mel_distance_level1": Figure(
        "sound quality from the coarsest level alone", "lower is better"
    ),
    "val/stft": Figure("fine detail", "lower is better"),
    "val/envelope": Figure("attacks and dynamics", "lower is better"),
    "val/cross_entropy": Figure("how well the generator knows your sounds", "lower is better"),
    "codebook/used_percent_min": Figure("sound palette in use", "higher is better", 0, "%"),
    "codebook/perplexity_level0": Figure("variety of the coarse sounds", "higher is better", 0),
}
STAGES = {"codec": "Sound model (codec)", "prior": "Generator (prior)"}
COUNTS = {"global_step": "training steps", "epoch": "passes over your sounds"}


def training_lines(training: Any) -> list[str]:
    """Markdown lines for a bundle's `meta["training"]`: one section per stage (codec, prior),
    raw names never shown; an empty list when nothing is known."""
    if not isinstance(training, dict) or not training:
        return []
    stages = {k: v for k, v in training.items() if k in STAGES and isinstance(v, dict)}
    if not stages:  # an older bundle: one stage's figures at the top level
        stages = {"": training}
    lines = []
    for stage, info in stages.items():
        items = _stage_items(info)
        if items:
            title = STAGES.get(stage, "Training")
            lines.append(f"**{title}**\n\n" + "\n".join(f"- {item}" for item in items))
    return lines


def _stage_items(info: dict[str, Any]) -> list[str]:
    """One stage's counts and figures as "words: value (better)" items."""
    items = [
        f"{words}: {int(info[key]):,}"
        for key, words in COUNTS.items()
        if isinstance(info.get(key), int | float) and not isinstance(info.get(key), bool)
    ]
    metrics = {}
    for source in (info.get("metrics"), info.get("final")):
        if isinstance(source, dict):
            metrics.update(source)
    for name, figure in FIGURES.items():
        last, best = _number(metrics.get(name)), _best(metrics, name)
        value = last if last is not None else best
        if value is None:
            continue
        text = f"{figure.words}: {_show(value, figure)} ({figure.better}"
        if best is not None and last is not None and not math.isclose(best, last, rel_tol=1e-3):
            text += f"; best {_show(best, figure)}"
        items.append(text + ")")
    return items


def _best(metrics: dict[str, Any], name: str) -> float | None:
    for key in (f"best {name}", f"{name} (best)"):
        value = _number(metrics.get(key))
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _show(value: float, figure: Figure) -> str:
    return f"{value:.{figure.digits}f}{figure.unit}"
