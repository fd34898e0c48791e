"""Which guidance and candidates should `sda generate` default to: adherence of every control
against the time a take costs, for several (guidance, candidates) pairs on a trained prior.

    python experiments/bench_generation_defaults.py --prior outputs/bench16/prior/fixedgap \
        [--pairs 1:1,3:1,1:4,3:4] [--seconds 4] [--controls tension] [--no-record]

For each pair: Spearman rho of setting vs measured descriptor per control (all six, or those
named) on the takes as the CLI writes them (render: tone EQ and level included), 5 settings x 4
seeds (`bench_prior`), and the speed of a 20 s take with brightness and density set, and with
brightness and tension set, decoding included (best of 2, 2 threads). Candidates are steered
while drawn (`sda.generate.particles`). Also says what the prior's own `tension_check` chose at
the end of its training. Records the table at the end of the "## Prior" section of
experiments/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date
from pathlib import Path

import torch
from bench_prior import controllability
from results_file import record
from timing import best_time

from sda.audio.descriptors import CONTROL_NAMES
from sda.generate import generate
from sda.library import resolve_bundle

SPEED_CONTROLS = ({"brightness": 0.8, "density": 0.3}, {"brightness": 0.8, "tension": 0.7})


def pairs(text: str) -> list[tuple[float, int]]:
    """'1:1,3:4' -> [(1.0, 1), (3.0, 4)]."""
    out = []
    for item in text.split(","):
        guidance, candidates = item.split(":")
        out.append((float(guidance), int(candidates)))
    return out


def prior_bundle(prior: str):
    """A prior run's last weights with its codec, or a bundle or library name, as a bundle."""
    path = Path(prior)
    return resolve_bundle(
        path / "checkpoints" / "last.ckpt" if (path / "checkpoints").is_dir() else prior
    )


def measure_pair(
    bundle, guidance: float, candidates: int, seconds: float, names: tuple[str, ...]
) -> dict:
    """Rendered rho per control and x real time for one (guidance, candidates) pair."""
    _, rendered = controllability(bundle, seconds, guidance, candidates, names=names)
    generate(bundle, seconds=1.0, seed=99)  # warm up
    speeds = []
    for controls in SPEED_CONTROLS:
        taken = best_time(
            lambda controls=controls: generate(
                bundle, seconds=20.0, seed=0, guidance=guidance, candidates=candidates,
                controls=controls,
            ),
            2,
        )  # fmt: skip
        speeds.append(20.0 / taken)
    return {"rho": {name: rendered[name][0] for name in names}, "speeds": speeds}


def table(rows: dict[tuple[float, int], dict], names: tuple[str, ...]) -> str:
    header = " | ".join(names)
    speeds = " | ".join(f"x real time ({' + '.join(c)}, 20 s, decoded)" for c in SPEED_CONTROLS)
    lines = [
        f"| guidance, candidates | {header} | {speeds} |",
        "| --- |" + " ---: |" * (len(names) + len(SPEED_CONTROLS)),
    ]
    for (guidance, candidates), row in rows.items():
        rhos = " | ".join(f"{row['rho'][name]:+.2f}" for name in names)
        speed = " | ".join(f"{value:.1f}" for value in row["speeds"])
        lines.append(f"| {guidance:g}, {candidates} | {rhos} | {speed} |")
    return "\n".join(lines)


def verdict(bundle) -> str:
    """What the prior measured of tension when its training ended (`tension_check`), if it did,
    and how `sda generate` draws tension from it (`sampling_defaults` itself, never restated)."""
    from sda.generate.sampling_defaults import (
        describe_sampling,
        describe_tension_way,
        sampling_defaults,
    )

    stats = bundle.meta.get("descriptor_stats")
    measured = describe_tension_way(stats) or "not measured (the prior predates `tension_check`)"
    guidance, candidates = sampling_defaults({"tension": 0.5}, stats)
    return (
        f"\n\nTension, by the prior's own check at the end of its training: {measured}; "
        f"`sda generate` draws it with {describe_sampling(guidance, candidates)}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prior", required=True, help="prior run, bundle or library name")
    parser.add_argument("--pairs", default="1:1,3:1,1:4,3:4", help="guidance:candidates,...")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each measured take")
    parser.add_argument("--controls", default=",".join(CONTROL_NAMES), help="name,name,...")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    names = tuple(name.strip() for name in args.controls.split(","))
    bundle = prior_bundle(args.prior)
    start = time.perf_counter()
    rows = {}
    for guidance, candidates in pairs(args.pairs):
        print(f"guidance {guidance:g}, candidates {candidates}", flush=True)
        rows[(guidance, candidates)] = measure_pair(
            bundle, guidance, candidates, args.seconds, names
        )
    text = (
        f"{date.today()}, `experiments/bench_generation_defaults.py --prior {args.prior} "
        f"--pairs {args.pairs} --seconds {args.seconds:g} --controls {args.controls}`, "
        f"{platform.machine()}, 2 threads: rendered takes of {args.seconds:g} s, 5 settings x "
        f"4 seeds per control; {(time.perf_counter() - start) / 60:.0f} min in all.\n\n"
        + table(rows, names)
        + verdict(bundle)
    )
    print(text)
    if not args.no_record:
        record("Prior", text)


if __name__ == "__main__":
    main()
