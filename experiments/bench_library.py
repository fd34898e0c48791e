"""Library speed: cold bundle loading, `sda --help` start-up, and index operations on 500 bundles.

Run: `.venv/bin/python experiments/bench_library.py [--bundles 500]`. Models are randomly
initialised (weights do not change loading speed). Prints a table and records it at the end of
the "## Library" section of experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
from results_file import record

from sda.library import Library, save_bundle
from sda.models.codec import Codec, CodecConfig
from sda.models.prior import Prior, PriorConfig

SDA = Path(sys.executable).with_name("sda")

# A fresh interpreter: imports + load + one decode, each timed on its own.
_COLD_LOAD = """
import json, sys, time
start = time.perf_counter()
import torch
from sda.library import load_bundle
imported = time.perf_counter()
import sda.models.codec, sda.models.prior
models = time.perf_counter()
bundle = load_bundle(sys.argv[1])
loaded = time.perf_counter()
with torch.inference_mode():
    bundle.codec.decode(torch.zeros(1, bundle.codec.config.num_levels, 47, dtype=torch.long))
decoded = time.perf_counter()
times = {"imports": imported - start, "models": models - imported, "load": loaded - models}
print(json.dumps({**times, "first_decode": decoded - loaded}))
"""


def timed(fn, repeat: int = 1) -> float:
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_load(path: Path, runs: int = 3) -> dict[str, float]:
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _COLD_LOAD, str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: min(r[key] for r in results) for key in results[0]}


def help_time(args: list[str], runs: int = 5) -> float:
    command = (
        [str(SDA)] if SDA.exists() else [sys.executable, "-c", "from sda.cli import main; main()"]
    )
    return min(
        timed(lambda: subprocess.run([*command, *args], capture_output=True, check=True))
        for _ in range(runs)
    )


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", type=int, default=500)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows: list[tuple[str, float, str]] = []
    work = Path(tempfile.mkdtemp(prefix="sda-bench-library-"))
    try:
        # --- cold bundle loads: the default codec, and codec + default prior
        codec = Codec(CodecConfig()).eval()
        prior = Prior(
            PriorConfig(num_levels=8, codebook_size=256, codec_fingerprint=codec.fingerprint())
        ).eval()
        plain = save_bundle(work / "codec", codec=codec)
        full = save_bundle(work / "full", codec=codec, prior=prior)
        for label, path in (("codec", plain), ("codec + prior", full)):
            result = cold_load(path)
            note = f"{size_mb(path):.1f} MB on disk"
            rows.append((f"cold load {label}: import torch + sda.library", result["imports"], note))
            models_note = "vector_quantize_pytorch -> einx -> torch._dynamo"
            rows.append((f"cold load {label}: import sda.models", result["models"], models_note))
            load_note = "read safetensors, build, strict load, fingerprint check"
            rows.append((f"cold load {label}: load_bundle", result["load"], load_note))
            rows.append((f"cold load {label}: first 1 s decode", result["first_decode"], ""))

        # --- CLI start-up
        rows.append(("sda --help", help_time(["--help"]), "best of 5, fresh process"))
        rows.append(
            ("sda library list --help", help_time(["library", "list", "--help"]), "best of 5")
        )

        # --- index operations with many bundles (tiny codec files: the index is what is measured)
        tiny = CodecConfig(
            latent_dim=8,
            num_levels=2,
            codebook_size=16,
            encoder_dim=16,
            decoder_dim=16,
            encoder_blocks=0,
            decoder_blocks=0,
            encoder_latent_blocks=1,
            decoder_latent_blocks=1,
        )
        source = save_bundle(
            work / "tiny",
            codec=Codec(tiny).eval(),
            meta={
                "dataset": {
                    "files": [{"name": f"take_{i}.wav", "seconds": 1.0} for i in range(20)],
                    "seconds": 20.0,
                }
            },
        )
        library = Library(work / "lib")
        start = time.perf_counter()
        for i in range(args.bundles):
            library.add(source, name=f"kit {i:04d}", tags=["drums" if i % 2 else "pads"])
        total = time.perf_counter() - start
        n = args.bundles
        rows.append(
            (
                f"add 1 bundle (mean over {n})",
                total / n,
                f"copy {size_mb(source) * 1000:.0f} kB + locked index write",
            )
        )
        fresh = Library(library.root)
        rows.append((f"list {n} bundles", timed(fresh.list, 5), "index read + folder reconcile"))
        rows.append((f"search name among {n}", timed(lambda: fresh.search("kit 04"), 5), ""))
        rows.append(
            (f"search dataset file among {n}", timed(lambda: fresh.search("take_19"), 5), "")
        )
        rows.append((f"search tag among {n}", timed(lambda: fresh.search(tags=["drums"]), 5), ""))
        rows.append((f"show 1 of {n}", timed(lambda: fresh.show(f"kit {n // 2:04d}"), 5), ""))
        rows.append(
            (f"tag 1 of {n}", timed(lambda: fresh.tag(f"kit {n // 2:04d}", add=["x"]), 5), "")
        )
        names = iter(range(10))
        current = [f"kit {n // 2 + 1:04d}"]

        def rename() -> None:
            new = f"renamed {next(names)}"
            fresh.rename(current[0], new)
            current[0] = new

        rows.append((f"rename 1 of {n}", timed(rename, 5), ""))
        victims = iter(range(n - 5, n))
        rows.append(
            (f"delete 1 of {n}", timed(lambda: fresh.delete(f"kit {next(victims):04d}"), 5), "")
        )
        library.index_path.write_text("not json")
        rows.append(
            (
                f"recover damaged index ({n - 5} bundles, from .bak)",
                timed(lambda: Library(library.root).list()),
                "",
            )
        )
        library.index_path.write_text("not json")
        (library.root / "index.json.bak").unlink()
        rebuild = timed(lambda: Library(library.root).list())
        index_kb = library.index_path.stat().st_size / 1000
        rows.append(
            (f"rebuild index from {n - 5} bundle folders", rebuild, f"index.json {index_kb:.0f} kB")
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = (
        f"{date.today()}, {platform.machine()}, torch {torch.__version__}, 2 torch threads, "
        "2 CPU cores shared with other jobs (noisy); experiments/bench_library.py.\n"
        "Default-size codec (CodecConfig()) and prior (PriorConfig(8, 256)), random weights.\n\n"
        "| measurement | seconds | notes |\n| --- | ---: | --- |\n"
    )
    lines = [f"| {name} | {value:.4f} | {note} |" for name, value, note in rows]
    table = header + "\n".join(lines) + "\n"
    print(table)
    record("Library", table)


if __name__ == "__main__":
    main()
