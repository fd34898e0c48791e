"""Explorer benchmark (issue 8): how fast the app opens and answers its first generation.

    python experiments/bench_app.py [--library DIR --model NAME] [--seconds 4]

Without --library it builds the tiny model the tests use (tests/factories.py, ~30 s of training).
Measures: importing the app (gradio), `build_app`, launching the server until it answers HTTP,
the first generation (model load + sampling + decoding + writing the take) and a warm one, and one
DNA round (encode a file, swap levels, decode). Prints a table and records it at the end of the
"## App" section of experiments/RESULTS.md.

    python experiments/bench_app.py --memory 20 --memory-seconds 60

measures only the process's memory (RSS) after 1 and after 20 generations in one session (issue
19: within 50 MB), and records it at the end of the "## App memory" section.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from results_file import record

FACTORIES = Path(__file__).resolve().parents[1] / "tests" / "factories.py"


def tiny_library(folder: Path) -> tuple[Path, str]:
    """A library holding the tests' tiny codec + prior, trained here (the same recipe)."""
    spec = importlib.util.spec_from_file_location("factories", FACTORIES)
    factories = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(factories)
    from sda.library import Library, save_bundle

    kinds = ("pluck", "drone", "noise", "pluck", "drone", "noise")
    audio = [factories.synth_sound(kind, seconds=0.5, seed=i) for i, kind in enumerate(kinds)]
    codec = factories.train_tiny_codec(audio)
    prior = factories.train_tiny_prior(codec, audio)
    library = Library(folder / "library")
    meta = {"descriptor_stats": factories.DESCRIPTOR_STATS}
    bundle = save_bundle(folder / "staging" / "tiny-prior", codec=codec, prior=prior, meta=meta)
    library.add(bundle, move=True)
    return library.root, "tiny-prior"


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--library", type=Path, help="an existing library (default: build a tiny one)"
    )
    parser.add_argument("--model", default=None, help="model name in --library")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each generated take")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="print only, do not append")
    parser.add_argument("--memory", type=int, default=0, help="only measure RSS over N takes")
    parser.add_argument("--memory-seconds", type=float, default=60.0, help="length of those takes")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="sda-bench-app-"))
    if args.library is None:
        root, model = tiny_library(scratch)
        model_label = "tiny test model (codec K=32 x 4 levels, 1-layer prior)"
    else:
        root, model = args.library, args.model
        model_label = model
        if not model:
            parser.error("--model is required with --library")

    if args.memory:
        return memory_bench(args, root, model, model_label, scratch)
    rows: list[tuple[str, float, str]] = []
    import_seconds, build_module = timed(importlib.import_module, "sda.app.build")
    rows.append(("import the app (gradio)", import_seconds, "first import in this process"))

    from sda.app import dna_callbacks, dna_pictures, generate_callbacks
    from sda.app.state import UserSession
    from sda.library import Library

    builds = [
        timed(build_module.build_app, Library(root), work_dir=scratch / f"w{i}") for i in range(3)
    ]
    rows.append(("build_app", statistics.median(s for s, _ in builds), "median of 3"))

    app = builds[0][1]
    port = free_port()
    start = time.perf_counter()
    build_module.launch_app(app, port=port, block=False, quiet=True)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        assert response.status == 200
    rows.append(("launch until the page answers", time.perf_counter() - start, f"port {port}"))

    ctx = app.sda_context
    session = UserSession()
    settings = generate_callbacks.GenerationSettings(seconds=args.seconds, seed=0)
    first, _ = timed(generate_callbacks.generate_takes, ctx, session, model, settings)
    rows.append(
        (
            f"first generation, {args.seconds:g} s take",
            first,
            "loads the model, samples, decodes, writes",
        )
    )
    warm_runs = []
    for seed in (1, 2, 3):
        settings.seed = seed
        warm_runs.append(timed(generate_callbacks.generate_takes, ctx, session, model, settings)[0])
    warm = min(warm_runs)
    rows.append(
        (
            f"warm generation, {args.seconds:g} s take",
            warm,
            f"best of 3, {args.seconds / warm:.1f}x real time",
        )
    )

    take = session.takes[0]
    dna_seconds = -time.perf_counter()
    dna_callbacks.load_file(ctx, session, "A", model, str(take.path))
    dna_callbacks.load_take(ctx, session, "B", session.takes[1].number)
    codes = dna_callbacks.slot_codes(session, "A")
    region = dna_callbacks.region_for(codes, 0, codes.seconds, 0, 0)
    dna_callbacks.apply_operation(ctx, session, "swap levels", region)
    dna_pictures.grid_picture(ctx, session, "A", dna_pictures.COLOUR_BY_CODE, region)
    dna_callbacks.decode_working(ctx, session, None)
    dna_seconds += time.perf_counter()
    rows.append(("DNA round: encode, swap, draw, decode", dna_seconds, f"{args.seconds:g} s grids"))
    app.close()

    table = "| step | seconds | notes |\n| --- | ---: | --- |\n" + "".join(
        f"| {name} | {seconds:.2f} | {note} |\n" for name, seconds, note in rows
    )
    header = (
        f"{date.today().isoformat()}, {model_label}, {platform.machine()}, "
        f"{args.threads} torch threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        f"shared cores, gradio {_gradio_version()}; bench_app.py.\n\n"
    )
    print(header + table)
    if not args.no_record:
        record("App", header + table)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def memory_bench(args, root: Path, model: str, model_label: str, scratch: Path) -> None:
    """RSS after each of `args.memory` generations of one take in one session (as Generate
    presses are), with the app's default memory cap on the takes it holds."""
    from sda.app.build import build_app
    from sda.app.generate_callbacks import GenerationSettings, generate_takes
    from sda.app.state import UserSession
    from sda.library import Library

    app = build_app(Library(root), work_dir=scratch / "memory")
    ctx, session = app.sda_context, UserSession()
    after = []
    start = time.perf_counter()
    for seed in range(args.memory):
        settings = GenerationSettings(seconds=args.memory_seconds, seed=seed)
        generate_takes(ctx, session, model, settings)
        after.append(rss_mb())
        print(f"take {seed + 1}: RSS {after[-1]:.0f} MB", flush=True)
    minutes = (time.perf_counter() - start) / 60
    held = sum(take.audio.nbytes for take in session.takes if take.in_memory) / 2**20
    rows = [
        ("RSS after 1 generation", after[0], ""),
        (
            f"RSS after {args.memory} generations",
            after[-1],
            f"growth {after[-1] - after[0]:+.1f} MB",
        ),
        ("highest RSS on the way", max(after), ""),
        ("take audio held in memory", held, f"cap {ctx.take_memory_bytes / 2**20:.0f} MB"),
    ]
    table = "| measure | MB | notes |\n| --- | ---: | --- |\n" + "".join(
        f"| {name} | {value:.1f} | {note} |\n" for name, value, note in rows
    )
    header = (
        f"{date.today().isoformat()}, {model_label}, "
        f"{args.memory} generations of a {args.memory_seconds:g} s take in one session "
        f"({minutes:.1f} min), {args.threads} torch threads, {platform.machine()}; "
        "bench_app.py --memory.\n\n"
    )
    print(header + table)
    if not args.no_record:
        record("App memory", header + table)


def _gradio_version() -> str:
    import gradio

    return gradio.__version__


if __name__ == "__main__":
    sys.exit(main())
