"""When would the codec's "done" signal have spoken? Replays finished runs' validation curves.

Run: `.venv/bin/python experiments/replay_plateau.py RUN [RUN ...] [--patience 5]
[--min-gain 0.01]`, each RUN a codec training run folder (its `tensorboard/` holds
`val/mel_distance`; a resumed run's event files are read together). For each run: the step
where the best-so-far rule alone (`has_plateaued`) would have said "done", the step where
`QualityPlateau` says it (the best and the trend), and for each how much lower the run's final
best went after it ("left"). Trains nothing; prints only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sda.training.plateau import QualityPlateau, has_plateaued

MONITOR = "val/mel_distance"


def validation_curve(run: Path) -> list[tuple[int, float]]:
    """(step, value) of every validation the run logged, in step order; a value logged twice at
    one step (a resume repeating its last validation) counts once."""
    found: dict[int, float] = {}
    for events in sorted(run.glob("tensorboard/**/events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
        accumulator.Reload()
        if MONITOR in accumulator.Tags()["scalars"]:
            found.update((event.step, event.value) for event in accumulator.Scalars(MONITOR))
    return sorted(found.items())


def best_alone(curve: list[tuple[int, float]], patience: int, min_gain: float) -> int | None:
    """The first validation's index at which the best-so-far rule alone would speak."""
    bests: list[float] = []
    for index, (_, value) in enumerate(curve):
        bests.append(min(value, bests[-1]) if bests else value)
        if has_plateaued(bests, patience=patience, min_relative_gain=min_gain):
            return index
    return None


def with_trend(curve: list[tuple[int, float]], patience: int, min_gain: float) -> int | None:
    """The first validation's index at which `QualityPlateau` speaks."""
    plateau = QualityPlateau(patience=patience, min_relative_gain=min_gain)
    for index, (step, value) in enumerate(curve):
        if plateau.observe(value, step):
            return index
    return None


def describe(curve: list[tuple[int, float]], index: int | None) -> str:
    if index is None:
        return "never"
    best = min(value for _, value in curve[: index + 1])
    final = min(value for _, value in curve)
    return f"step {curve[index][0]:,}, left {100 * (best - final) / best:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="codec training run folders")
    parser.add_argument("--patience", type=int, default=5, help="validations")
    parser.add_argument("--min-gain", type=float, default=0.01, help="relative gain")
    args = parser.parse_args()
    print("| run | validations | the best alone | with the trend (QualityPlateau) |")
    print("| --- | ---: | --- | --- |")
    for run in args.runs:
        curve = validation_curve(run)
        if not curve:
            print(f"| {run} | 0 | no {MONITOR} logged | |")
            continue
        alone = describe(curve, best_alone(curve, args.patience, args.min_gain))
        trend = describe(curve, with_trend(curve, args.patience, args.min_gain))
        print(f"| {run} | {len(curve)} | {alone} | {trend} |")


if __name__ == "__main__":
    main()
