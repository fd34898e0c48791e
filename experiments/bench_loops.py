"""Seamless loops and the stereo field, measured on a trained model (trains nothing).

Run: `.venv/bin/python experiments/bench_loops.py MODEL [--count 20] [--seconds 4 | --bars 2
--bpm 120] [--control brightness=0.7 ...] [--guidance G --candidates N] [--record]`, MODEL a
library name, bundle folder or prior training run; `--control` sets a control for every loop,
sampled as `sda generate` samples it (`sda.generate.sampling_defaults`: tension asks for a steered
or guided take) unless --guidance / --candidates say otherwise. On 2 CPU threads:
  - seams: `generate_loop` makes --count loops (seeds 0..count-1); each passes when the spectral
    flux across its seam, played twice, is at most its own 95th percentile and the sample step
    there at most its 99th percentile step (`sda.audio.seam`). Also in stereo (width 0.5,
    movement 0.5, rendered as a loop);
  - the joins themselves: the loops cut exactly where separately drawn music meets (where each
    steered half's run-on ends in the other half, or both ends of every redrawn join); and a
    plain take's loop cut exactly where the redrawn frames lead back into the take's
    start, against the cut where the take's end meets its start without a redraw, and against
    the plain take played twice: what the redraw, and looping at all, change;
  - width: measured side/mid energy ratio against the setting (0, 0.1 .. 1) on the loops,
    Spearman rho (all loops pooled, and within each loop: a stereo model's width scales each
    loop's own side, so loops start from different widths), and for a mono model the largest
    deviation from the documented ratio width / (2 - width);
    movement: the range of the L/R level difference at movement 0, 0.5, 1; mono compatibility;
  - speed: loop seconds per wall second of `generate_loop` + the stereo field (decoding included),
    under the environment's OpenMP waits: `sda generate` runs with OpenMP's default;
    `OMP_WAIT_POLICY=PASSIVE` (the trainers' setting before 2026-12-08) makes every two-thread
    op wake sleeping threads, and the loops ~10 % slower (experiments/RESULTS.md, Loops and
    width, 2026-12-07).
With --record, records the table at the end of the "## Loops and width" section of
experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import numpy as np
import torch
from results_file import RESULTS, record
from scipy.stats import spearmanr

from sda.audio.seam import measure_seam
from sda.audio.stereo_field import (
    level_difference_db,
    measure_width,
    model_field,
    side_to_mid_ratio,
    stereo_field,
)
from sda.generate import generate
from sda.generate.loop import default_seam_frames, generate_loop, seamless_grid
from sda.generate.loop_cut import loop_audio
from sda.generate.loop_length import LoopLength, loop_length
from sda.generate.sampling_defaults import sampling_defaults
from sda.generate.steering import stats_record
from sda.library import open_model
from sda.training.thread_waits import described_waits

WIDTHS = tuple(round(0.1 * step, 1) for step in range(11))
MOVEMENTS = (0.0, 0.5, 1.0)


def rendered_field(audio: np.ndarray, rate: int, width: float, movement: float = 0.0) -> np.ndarray:
    """A loop's stereo field as the CLI renders it: a mono model's take spread by
    `stereo_field`, a stereo model's own side scaled and moved by `model_field`."""
    render = model_field if audio.ndim == 2 else stereo_field
    return render(audio, rate, width=width, movement=movement, loop=True)


def downmix(audio: np.ndarray) -> np.ndarray:
    """What a stereo field must sum back to: the mono take, or a stereo take's mid."""
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def asked_controls(pairs: list[str]) -> dict[str, float]:
    """--control NAME=VALUE pairs as a controls mapping (values 0..1)."""
    controls = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        controls[name.strip()] = float(value)
    return controls


def loop_sampling(
    bundle, controls: dict[str, float], guidance: float | None = None, candidates: int | None = None
) -> dict:
    """The controls and the guidance and candidates `sda generate --loop` picks for them;
    `guidance` / `candidates` given: those instead (`sda generate --guidance/--candidates`)."""
    if not controls:
        return {}
    default_guidance, default_candidates = sampling_defaults(controls, stats_record(bundle))
    return {
        "controls": controls,
        "guidance": default_guidance if guidance is None else guidance,
        "candidates": default_candidates if candidates is None else candidates,
    }


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """--guidance / --candidates: sample controlled loops so instead of `sda generate`'s
    defaults, to weigh speed against how well they follow."""
    parser.add_argument("--guidance", type=float, help="instead of the default for the controls")
    parser.add_argument("--candidates", type=int, help="instead of the default for the controls")


def make_loops(bundle, length: LoopLength, count: int, sampling: dict) -> dict:
    """`count` loops: mono and stereo seam passes, and speed x real time."""
    rate = int(bundle.codec.config.sample_rate)
    loops, mono_pass, stereo_pass, wall = [], 0, 0, 0.0
    for seed in range(count):
        start = time.perf_counter()
        loop = generate_loop(bundle, length, seed=seed, **sampling)
        stereo = rendered_field(loop.audio, rate, width=0.5, movement=0.5)
        wall += time.perf_counter() - start
        stereo_ok = measure_seam(stereo, rate).passed
        mono_pass += loop.seam.passed
        stereo_pass += stereo_ok
        loops.append(loop)
        print(
            f"seed {seed}: seam margin {loop.seam.margin:.2f} (pass <= 1), "
            f"stereo {'pass' if stereo_ok else 'FAIL'}, pitch {loop.pitch_cents:+.1f} cents",
            flush=True,
        )
    speed = count * length.seconds / wall
    cents = [abs(loop.pitch_cents) for loop in loops if loop.pitch_cents]
    return {
        "loops": loops, "mono": mono_pass, "stereo": stereo_pass, "speed": speed,
        "stretched": len(cents), "max_cents": max(cents, default=0.0),
    }  # fmt: skip


def join_cuts(bundle, length: LoopLength, count: int) -> dict[str, int]:
    """Passes when the loop is cut where old codes meet: after the redraw, where the redrawn
    frames lead into the take's start; without it, where the take's end meets its start; and
    the plain take played twice (no repeating decode, no crossfade)."""
    codec = bundle.codec
    passes = {"redrawn": 0, "not redrawn": 0, "plain take played twice": 0}
    for seed in range(count):
        take = generate(bundle, seconds=length.frames / codec.config.frame_rate, seed=seed)
        codes = take.codes.with_indices(take.codes.indices[:, : length.frames])
        seam = default_seam_frames(codes.frames, bundle.prior.config.context_frames)
        join = codes.frames - codes.frames // 2  # where the end meets the start once rotated
        rejoin = join - seam // 2 + seam  # where the redrawn frames meet the take's start
        grid = seamless_grid(bundle, codes, seed=seed)
        passes["redrawn"] += loop_audio(codec, grid, length.samples, start_frame=rejoin).seam.passed
        passes["not redrawn"] += loop_audio(codec, codes, length.samples, start_frame=0).seam.passed
        passes["plain take played twice"] += measure_seam(take.audio, take.sample_rate).passed
    return passes


def meeting_frames(loop) -> list[int]:
    """The grid frames of a generated loop where separately drawn music meets: where each half's
    run-on ends in the other half (halves joined as drawn), or both ends of every redrawn join."""
    operations = loop.codes.provenance["operations"]
    drawn = next(step for step in operations if step["op"] == "generate")
    if "joined" in drawn:
        return [drawn["joined"], drawn["halves"][1] + drawn["joined"]]
    redrawn = [step for step in operations if step["op"] == "regenerate"]
    return [frame for step in redrawn for frame in (step["start"], step["end"])]


def cuts_where_parts_meet(bundle, loops, length: LoopLength) -> tuple[int, int]:
    """(passes, cuts): the generated loops cut exactly where separately drawn music meets, each
    cut measured as a seam: do the joins flow as the loop's own music does?"""
    cuts = [(loop, frame) for loop in loops for frame in meeting_frames(loop)]
    passes = sum(
        loop_audio(bundle, loop.codes, length.samples, start_frame=frame).seam.passed
        for loop, frame in cuts
    )
    return passes, len(cuts)


def width_and_movement(loops, rate: int) -> dict:
    """Width rho and deviation, movement swing, mono compatibility, over the loops. A stereo
    model's width scales its own side, so there the deviation from the mono rule is n/a."""
    settings, measured, deviation, downmix_error, per_loop = [], [], 0.0, 0.0, []
    swings = {movement: [] for movement in MOVEMENTS}
    for loop in loops:
        for width in WIDTHS:
            stereo = rendered_field(loop.audio, rate, width)
            ratio = measure_width(stereo)
            settings.append(width)
            measured.append(ratio)
            if loop.audio.ndim == 1:
                deviation = max(deviation, abs(ratio - side_to_mid_ratio(width)))
            else:
                deviation = float("nan")
            error = np.max(np.abs(stereo.mean(0) - downmix(loop.audio)))
            downmix_error = max(downmix_error, float(error))
        own = measured[-len(WIDTHS) :]  # a stereo model's loops start from their own widths
        per_loop.append(float(spearmanr(WIDTHS, own).statistic))
        for movement in MOVEMENTS:
            stereo = rendered_field(loop.audio, rate, 0.5, movement)
            swings[movement].append(float(np.ptp(level_difference_db(stereo, rate))))
    return {
        "rho": float(spearmanr(settings, measured).statistic),
        "rho_per_loop": (float(np.median(per_loop)), float(np.min(per_loop))),
        "deviation": deviation,
        "downmix_error": downmix_error,
        "swing": {movement: float(np.median(values)) for movement, values in swings.items()},
    }


def record_table(args, bundle, length: LoopLength, made: dict, joins: dict, field: dict) -> None:
    config = bundle.codec.config
    count = args.count
    swing = " / ".join(f"{field['swing'][m]:.1f}" for m in MOVEMENTS)
    joined = ", ".join(f"{label} {passed}/{count}" for label, passed in joins.items())
    stereo_model = bool(np.isnan(field["deviation"]))
    lines = [
        f"{date.today()}, `experiments/bench_loops.py {args.model}`, {platform.machine()}, torch "
        f"{torch.__version__}, 2 threads (load average {os.getloadavg()[0]:.1f} at the end), "
        f"OpenMP waits: {described_waits(os.environ)}. "
        f"Codec {config.num_levels} levels x {config.codebook_size} codes at "
        f"{config.frame_rate:.2f} frames/s; loops of {length.describe()}, seeds 0-{count - 1}, "
        f"controls {', '.join(args.control) or 'none'}, CLI defaults otherwise.",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| loops passing the seam measure (as generated) | {made['mono']}/{count} | {count}/{count} |",
        f"| the same in stereo (width 0.5, movement 0.5) | {made['stereo']}/{count} | |",
        f"| tempo-fitted loops stretched to length (not cut) / largest pitch change | "
        f"{made['stretched']}/{count} / {made['max_cents']:.1f} cents | |",
        f"| cut exactly at the join: {joined} | | |",
        "| the loops cut where separately drawn music meets (each half's run-on, or a redrawn "
        "join's ends) | {}/{} | |".format(*made["met"]),
        f"| width: Spearman rho, setting vs side/mid energy (all loops pooled) | "
        f"{field['rho']:+.3f} | {'' if stereo_model else '>= 0.95'} |",
        "| the same within each loop (median / lowest) | "
        + " / ".join(f"{rho:+.3f}" for rho in field["rho_per_loop"])
        + f" | {'>= 0.95 (a stereo model: loops start from their own widths)' if stereo_model else ''} |",
        "| width: largest deviation from width / (2 - width) | "
        + (
            "n/a (a stereo model widens its own side)"
            if np.isnan(field["deviation"])
            else f"{field['deviation']:.3f}"
        )
        + " | |",
        f"| movement 0 / 0.5 / 1: range of L/R level difference (dB) | {swing} | rises |",
        f"| largest mono downmix error | {field['downmix_error']:.1e} | ~0 |",
        f"| speed, loop + stereo field (x real time, decoding included) | {made['speed']:.1f} "
        "| >= 10 |",
    ]
    record("Loops and width", "\n".join(lines))
    print(f"recorded under ## Loops and width in {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="library name, bundle folder or prior training run")
    parser.add_argument("--count", type=int, default=20, help="loops (seeds 0..count-1)")
    parser.add_argument("--seconds", type=float, help="loop length (default 4 s)")
    parser.add_argument("--bars", type=float, help="tempo-fitted length: bars at --bpm")
    parser.add_argument("--bpm", type=float)
    parser.add_argument(
        "--control", action="append", default=[], help="NAME=VALUE, a control for every loop"
    )
    add_sampling_arguments(parser)
    parser.add_argument("--record", action="store_true", help="record in experiments/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle = open_model(args.model)
    config = bundle.codec.config
    seconds = 4.0 if args.seconds is None and args.bars is None and args.bpm is None else None
    length = loop_length(
        sample_rate=config.sample_rate,
        samples_per_frame=config.samples_per_frame,
        seconds=args.seconds if seconds is None else seconds,
        bars=args.bars,
        bpm=args.bpm,
    )
    sampling = loop_sampling(bundle, asked_controls(args.control), args.guidance, args.candidates)
    print(f"model {bundle.name}: loops of {length.describe()}; {sampling or 'no controls'}",
          flush=True)  # fmt: skip
    made = make_loops(bundle, length, args.count, sampling)
    print(f"seams: {made['mono']}/{args.count} mono, {made['stereo']}/{args.count} stereo; "
          f"speed {made['speed']:.1f}x real time", flush=True)  # fmt: skip
    made["met"] = cuts_where_parts_meet(bundle, made["loops"], length)
    print("the loops cut where separately drawn music meets: {}/{} pass".format(*made["met"]),
          flush=True)  # fmt: skip
    joins = join_cuts(bundle, length, args.count)
    print("cut at the join:", joins, flush=True)
    field = width_and_movement(made["loops"], int(config.sample_rate))
    print("width and movement:", field, flush=True)
    if args.record:
        record_table(args, bundle, length, made, joins, field)


if __name__ == "__main__":
    main()
