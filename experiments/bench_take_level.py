"""Free takes at the material's level: the README's prior command, then the peaks of free takes.

    python experiments/bench_take_level.py --codec RUN --data DIR [--minutes 10] [--takes 8]

Trains a prior with the default command (`sda-train-prior codec=RUN`, this machine's recipe) for
--minutes unless the run exists, generates --takes free 10 s takes (no controls), and prints the
median peak (dBFS) of the takes as decoded and as `render` writes them (what `sda generate` and
the app write), next to the median peak of the training files read back from disk.
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import subprocess
from pathlib import Path

import numpy as np
import torch

from sda.audio.io import load_audio
from sda.dataset.scan import scan_folder
from sda.dna.decode import decode_codes
from sda.generate import generate, render
from sda.library import resolve_bundle

ROOT = Path(__file__).resolve().parents[1]


def median_peak_db(takes: list[np.ndarray]) -> float:
    return float(np.median([20 * np.log10(max(float(np.abs(a).max()), 1e-10)) for a in takes]))


def train_prior(codec: Path, work: Path, minutes: int, name: str = "take_level") -> Path:
    """The README's prior command on `codec` for `minutes`, unless WORK/prior/NAME exists."""
    run_dir = work / "prior" / name
    if not (run_dir / "checkpoints" / "last.ckpt").exists():
        command = [
            str(Path(sys.executable).with_name("sda-train-prior")),
            f"codec={codec}",
            f"paths.output_dir={work}",
            f"name={name}",
            f"trainer.max_time=00:00:{minutes:02d}:00",
            "trainer.enable_progress_bar=false",
        ]
        subprocess.run(command, check=True, cwd=ROOT)
    return run_dir


def prior_parser(description: str, work: str) -> argparse.ArgumentParser:
    """--codec, --data, --minutes, --takes and --work (default outputs/WORK): what a benchmark of
    free takes from a freshly trained prior asks for."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--codec", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the codec's training folder")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--takes", type=int, default=8)
    parser.add_argument("--work", type=Path, default=ROOT / "outputs" / work)
    return parser


def trained_bundle(args: argparse.Namespace, name: str):
    """The bundle of `train_prior`'s run NAME (trained first if missing), on 2 threads."""
    prior = train_prior(args.codec, args.work, args.minutes, name)
    torch.set_num_threads(2)
    return resolve_bundle(prior / "checkpoints" / "last.ckpt")


def main() -> None:
    args = prior_parser(__doc__.splitlines()[0], "bench_take_level").parse_args()
    bundle = trained_bundle(args, "take_level")
    rate = bundle.codec.config.sample_rate
    clips = [generate(bundle, seconds=10.0, seed=100 + i).codes for i in range(args.takes)]
    decoded = median_peak_db([decode_codes(bundle.codec, c) for c in clips])
    rendered = median_peak_db([render(bundle, c) for c in clips])
    files = [entry.path for entry in scan_folder(args.data, sample_rate=rate).usable]
    material = median_peak_db([load_audio(f, sample_rate=rate)[0] for f in files])
    print(
        f"free takes' median peak: {rendered:.1f} dBFS as written ({decoded:.1f} decoded); "
        f"training files' median peak {material:.1f} dBFS ({len(files)} files); "
        f"difference {rendered - material:+.1f} dB"
    )


if __name__ == "__main__":
    main()
