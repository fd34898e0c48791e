"""Do loops follow the controls as plain takes of the same length do? (trains nothing)

Run: `.venv/bin/python experiments/bench_loop_controls.py MODEL [--controls tension brightness]
[--seconds 4] [--seeds 8] [--guidance G --candidates N] [--record]`, MODEL a library name,
bundle folder or prior training run. For each control, 5 settings x --seeds seeds: a loop
(`generate_loop`) and a plain take of the same length (`generate`), both sampled as `sda
generate` samples that control (`sda.generate.sampling_defaults`; --guidance / --candidates:
so instead), and the control's descriptor measured on what is written (the mid of a stereo
take), scaled to the material's range. Spearman rho of setting against measured, per way, and
the mean per setting. A loop's joins are chosen for how they lead on, not for the controls, and
its cut may move its start: this says what that costs.
With --record, records the table at the end of the "## Loops and width" section of
experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import date

import numpy as np
import torch
from bench_loops import add_sampling_arguments, loop_sampling
from bench_prior import SETTINGS
from results_file import record
from scipy.stats import spearmanr

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure
from sda.generate import generate
from sda.generate.loop import generate_loop
from sda.generate.loop_length import loop_length
from sda.generate.sampling_defaults import describe_sampling
from sda.generate.stereo_takes import downmix
from sda.library import open_model

WAYS = ("loop", "take")


def measured(audio: np.ndarray, rate: int, stats: DescriptorStats, name: str) -> float:
    """The control's descriptor of written audio (a stereo take's mid), on the material's 0..1
    scale. The full `measure`, as bench_prior's figures (steering measures tension strided)."""
    raw = measure(downmix(audio), rate)
    scaled = stats.normalize(np.array([raw[n] for n in CONTROL_NAMES]))
    return float(scaled[CONTROL_NAMES.index(name)])


def follow(bundle, name: str, length, seeds: int, overrides: dict | None = None) -> dict:
    """Per way: rho of setting vs measured and the mean measured per setting; `overrides`:
    guidance and candidates instead of the defaults (None values: the default)."""
    overrides = overrides or {}
    found = {way: [] for way in WAYS}
    rate = int(bundle.codec.config.sample_rate)
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    for value in SETTINGS:
        sampling = loop_sampling(bundle, {name: value}, **overrides)
        for seed in range(seeds):
            loop = generate_loop(bundle, length, seed=seed, **sampling)
            take = generate(bundle, seconds=length.seconds, seed=seed, **sampling)
            found["loop"].append(measured(loop.audio, rate, stats, name))
            found["take"].append(measured(take.audio, rate, stats, name))
    settings = np.repeat(SETTINGS, seeds)
    result = {}
    for way, values in found.items():
        means = np.asarray(values).reshape(len(SETTINGS), seeds).mean(axis=1)
        result[way] = (float(spearmanr(settings, values).statistic), means.tolist())
        print(f"  {name:10s} {way:4s} rho {result[way][0]:+.2f}  means "
              + " ".join(f"{m:.2f}" for m in means), flush=True)  # fmt: skip
    sampling = loop_sampling(bundle, {name: 0.5}, **overrides)
    result["sampling"] = describe_sampling(sampling["guidance"], sampling["candidates"])
    return result


def record_table(args, results: dict, length) -> None:
    lines = [
        f"{date.today()}, `experiments/bench_loop_controls.py {args.model}`, "
        f"{platform.machine()}, torch {torch.__version__}, 2 threads (load average "
        f"{os.getloadavg()[0]:.1f} at the end); {length.describe()}, settings "
        f"{', '.join(f'{s:g}' for s in SETTINGS)} x seeds 0-{args.seeds - 1}, each control "
        "sampled as `sda generate` samples it.",
        "",
        "| control | sampling | loops: rho | loops: mean per setting | takes: rho "
        "| takes: mean per setting |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for name, result in results.items():
        cells = [
            f"{result[way][0]:+.2f} | " + " ".join(f"{m:.2f}" for m in result[way][1])
            for way in WAYS
        ]
        lines.append(f"| {name} | {result['sampling']} | {cells[0]} | {cells[1]} |")
    record("Loops and width", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="library name, bundle folder or prior training run")
    parser.add_argument("--controls", nargs="+", default=["tension", "brightness"])
    parser.add_argument("--seconds", type=float, default=4.0, help="loop length")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per setting")
    add_sampling_arguments(parser)
    parser.add_argument("--record", action="store_true", help="record in experiments/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle = open_model(args.model)
    config = bundle.codec.config
    length = loop_length(
        sample_rate=config.sample_rate,
        samples_per_frame=config.samples_per_frame,
        seconds=args.seconds,
    )
    overrides = {"guidance": args.guidance, "candidates": args.candidates}
    results = {name: follow(bundle, name, length, args.seeds, overrides) for name in args.controls}
    if args.record:
        record_table(args, results, length)


if __name__ == "__main__":
    main()
