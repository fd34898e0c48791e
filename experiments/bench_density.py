"""The density control by itself: onsets/s of one plain take (guidance 1, candidates 1) per setting,
with the rests (`sda.generate.rests`) and by conditioning alone, on a trained prior.

    python experiments/bench_density.py --prior outputs/bench16/prior/fixedgap [--seconds 8]
        [--seeds 4] [--no-record]

Per setting 0.1 .. 0.9 and seed: the take as `sda generate` writes it, its onsets/s measured by
`sda.audio.descriptors` (the control's own unit), beside what the setting asks for; Spearman rho
of setting vs measured; x real time of the takes. "Conditioning alone" is the same engine with
the rests switched off (the engine's `known_grid` replaced for the run), so both rows share the
prior, seeds and measurement. Waveforms and spectrograms of seed 0 at 0.1, 0.5 and 0.9 go to
/tmp/bench_density.png. Records the table at the end of the "## Prior" section of
experiments/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import platform
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import torch
from bench_generation_defaults import prior_bundle
from plots import save_takes
from results_file import record
from scipy.stats import spearmanr

import sda.generate.engine as engine
from sda.audio.descriptors import DescriptorStats, measure
from sda.generate import generate
from sda.generate.rests import density_rate

SETTINGS = (0.1, 0.3, 0.5, 0.7, 0.9)
PICTURE = Path("/tmp/bench_density.png")


@contextmanager
def rests_off():
    """The engine without rests: density by conditioning alone."""
    kept = engine.known_grid
    engine.known_grid = lambda *args, **kwargs: None
    try:
        yield
    finally:
        engine.known_grid = kept


def measure_takes(bundle, seconds: float, seeds: int) -> dict:
    """Per setting the measured onsets/s of each seed's take; rho; x real time; seed 0's audio."""
    rate = bundle.codec.config.sample_rate
    settings, rates, pictured = [], [], {}
    spent = 0.0
    for value in SETTINGS:
        for seed in range(seeds):
            start = time.perf_counter()
            take = generate(bundle, seconds=seconds, seed=seed, controls={"density": value})
            spent += time.perf_counter() - start
            audio = take.audio if take.audio.ndim == 1 else take.audio.mean(axis=0)
            settings.append(value)
            rates.append(measure(audio, rate)["density"])
            if seed == 0:
                pictured[value] = audio
    means = [float(np.mean(rates[i * seeds : (i + 1) * seeds])) for i in range(len(SETTINGS))]
    rho = float(spearmanr(settings, rates).statistic)
    return {"rho": rho, "means": means, "speed": len(rates) * seconds / spent, "audio": pictured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prior", required=True, help="prior run, bundle or library name")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle = prior_bundle(args.prior)
    stats = DescriptorStats.from_dict(bundle.meta["descriptor_stats"])
    asked = [density_rate(v, stats) for v in SETTINGS]
    generate(bundle, seconds=1.0, seed=99)  # warm up
    with rests_off():
        alone = measure_takes(bundle, args.seconds, args.seeds)
    rests = measure_takes(bundle, args.seconds, args.seeds)
    rate = bundle.codec.config.sample_rate
    save_takes(
        PICTURE,
        [(f"density {v} (rests)", rests["audio"][v]) for v in (0.1, 0.5, 0.9)]
        + [(f"density {v} (conditioning alone)", alone["audio"][v]) for v in (0.1, 0.9)],
        rate,
        "density takes, seed 0",
    )

    def row(name: str, result: dict) -> str:
        means = " / ".join(f"{m:.2f}" for m in result["means"])
        return f"| {name} | {result['rho']:+.2f} | {means} | {result['speed']:.1f} |"

    text = "\n".join([
        f"{date.today()}, `experiments/bench_density.py --prior {args.prior} --seconds "
        f"{args.seconds:g}`, {platform.machine()}, 2 threads: one take per setting and seed "
        f"(guidance 1, candidates 1), {args.seeds} seeds, onsets/s measured on the written take.",
        "",
        "| density by | rho | onsets/s at 0.1 / 0.3 / 0.5 / 0.7 / 0.9 | x real time |",
        "| --- | ---: | --- | ---: |",
        "| asked (the control's range) | | " + " / ".join(f"{a:.2f}" for a in asked) + " | |",
        row("rests", rests),
        row("conditioning alone", alone),
    ])  # fmt: skip
    print(text, f"\npicture: {PICTURE}")
    if not args.no_record:
        record("Prior", text)


if __name__ == "__main__":
    main()
