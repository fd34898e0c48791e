"""Tension by one steered take: how closely takes follow the tension setting, and at what speed,
with the prior's code table (`sda.generate.code_steering`) against the ways before it.

    cd experiments && python bench_tension.py --prior ../outputs/bench16/prior/tension \
        [--seconds 4] [--no-record]

On one prior trained since the table exists, the same seeds and settings three ways:
  - steered: one take (guidance 1), the code table tilting every draw (today's default);
  - conditioning alone: one take, the table removed from the bundle;
  - best of 4 guided: guidance 3, the closest of 4 takes, table removed (the default before).
Tension is measured on the written take (normalised by the prior's own ranges), 5 settings x 4
seeds; speed is a 20 s take with tension and brightness set, decoding included (best of 2, 2
threads). Saves waveforms and spectrograms of steered takes at 0.1 and 0.9 to
/tmp/bench_tension.png, to look at before believing the numbers.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import torch
from bench_generation_defaults import prior_bundle
from bench_prior import SEEDS, SETTINGS
from plots import save_takes
from scipy.stats import spearmanr
from timing import best_time

from sda.audio.descriptors import CONTROL_NAMES, measure
from sda.generate import generate
from sda.generate.code_steering import STATS_KEY, CodeSteering
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import downmix

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TENSION = CONTROL_NAMES.index("tension")
WAYS = {  # name -> (keeps the table, guidance, candidates)
    "steered (one take)": (True, 1.0, 1),
    "conditioning alone (one take)": (False, 1.0, 1),
    "best of 4 guided (guidance 3)": (False, 3.0, 4),
}


def without_table(bundle):
    """The bundle as a prior from before the code table would be."""
    stats = {k: v for k, v in bundle.meta["descriptor_stats"].items() if k != STATS_KEY}
    return replace(bundle, meta={**bundle.meta, "descriptor_stats": stats})


def adherence(bundle, seconds: float, guidance: float, candidates: int) -> dict:
    """rho of setting vs measured tension, the mean per setting, and the takes at the ends."""
    stats = bundle_stats(bundle)
    rate = int(bundle.codec.config.sample_rate)
    settings, measured, ends = [], [], {}
    for value in SETTINGS:
        for seed in SEEDS:
            take = generate(
                bundle, seconds=seconds, seed=seed, guidance=guidance, candidates=candidates,
                controls={"tension": value},
            )  # fmt: skip
            raw = np.array([measure(downmix(take.audio), rate)[n] for n in CONTROL_NAMES])
            settings.append(value)
            measured.append(float(stats.normalize(raw)[TENSION]))
            if seed == SEEDS[0] and value in (SETTINGS[0], SETTINGS[-1]):
                ends[f"tension {value:g}"] = downmix(take.audio)
    count = len(SEEDS)
    means = [float(np.mean(measured[i * count : (i + 1) * count])) for i in range(len(SETTINGS))]
    rho = float(spearmanr(settings, measured).statistic)
    return {"rho": rho, "means": means, "ends": ends}


def speed(bundle, guidance: float, candidates: int) -> float:
    """x real time of a 20 s take with tension and brightness set, decoded and rendered."""
    controls = {"tension": 0.8, "brightness": 0.8}
    generate(bundle, seconds=1.0, seed=99)  # warm up
    taken = best_time(
        lambda: generate(
            bundle, seconds=20.0, seed=0, guidance=guidance, candidates=candidates,
            controls=controls,
        ),
        2,
    )  # fmt: skip
    return 20.0 / taken


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| way | rho | tension at 0.1 / 0.3 / 0.5 / 0.7 / 0.9 | x real time (20 s, decoded) |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, row in rows.items():
        means = " / ".join(f"{m:.2f}" for m in row["means"])
        lines.append(f"| {name} | {row['rho']:+.2f} | {means} | {row['speed']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prior", required=True, help="prior run, bundle or library name")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each measured take")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle = prior_bundle(args.prior)
    if CodeSteering.of(bundle) is None:
        raise SystemExit(f"{args.prior}: this prior carries no code tension table; train anew")
    start, rows = time.perf_counter(), {}
    for name, (keep, guidance, candidates) in WAYS.items():
        model = bundle if keep else without_table(bundle)
        rows[name] = adherence(model, args.seconds, guidance, candidates)
        rows[name]["speed"] = speed(model, guidance, candidates)
        print(f"{name}: rho {rows[name]['rho']:+.2f}, {rows[name]['speed']:.1f}x", flush=True)
    rate = int(bundle.codec.config.sample_rate)
    ends = list(rows["steered (one take)"]["ends"].items())
    picture = save_takes(Path("/tmp/bench_tension.png"), ends, rate, "steered takes, seed 0")
    text = (
        f"{date.today()}, `experiments/bench_tension.py --prior {args.prior}`, "
        f"{platform.machine()}, 2 threads: takes of {args.seconds:g} s, 5 settings x 4 seeds, "
        f"tension measured on the written take; {(time.perf_counter() - start) / 60:.0f} min "
        f"in all.\n\n{table(rows)}"
    )
    print(text)
    print(f"picture: {picture}")
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
