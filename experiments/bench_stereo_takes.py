"""Stereo takes against their material: does a stereo model's prior make the material's image?

    python experiments/bench_stereo_takes.py --codec RUN --data DIR [--minutes 10] [--takes 8]

Trains a prior with the README's command (`sda-train-prior codec=RUN`) for --minutes unless the
run exists, generates --takes free takes of --seconds, and compares their stereo image with the
material's (--seconds windows from the middle of each training file): side/mid energy ratio
(dB), L/R correlation, L/R balance (dB), the mono downmix's loss (dB), and how much of the side
the direction rows place off centre (the share of frames and bands with |rho| >= 0.5). Medians
over takes and windows; records them at the end of the "## Stereo" section of
experiments/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import datetime
import platform

import numpy as np
import torch
from bench_take_level import prior_parser, trained_bundle
from results_file import record
from stereo_fine_tune import balance_db, correlation, side_mid_db

from sda.audio.io import load_audio
from sda.audio.mono_compat import mono_compatibility
from sda.dataset.scan import scan_folder
from sda.generate import generate
from sda.models.stereo_direction import from_codes, split_side


def image(stereo: np.ndarray) -> dict[str, float]:
    return {
        "side_mid_db": side_mid_db(stereo),
        "correlation": correlation(stereo),
        "balance_db": abs(balance_db(stereo)),
        "mono_db": mono_compatibility(stereo).downmix_db,
    }


def off_centre(bundle, side_rows: np.ndarray) -> float:
    """Share of frames x bands whose direction row places the side off centre (|rho| >= 0.5)."""
    config = bundle.codec.config
    _, row = split_side(np.asarray(side_rows), config)
    if row is None:
        return float("nan")
    rho = from_codes(torch.from_numpy(row.astype(np.int64))[None], config.codebook_size)
    return float((rho.abs() >= 0.5).float().mean())


@torch.inference_mode()
def material_off_centre(bundle, window: np.ndarray) -> float:
    """`off_centre` of a material window's own direction row (encoded by the model)."""
    codes = bundle.stereo.encode(torch.from_numpy(window)[None])
    return off_centre(bundle, codes.side[0].numpy())


def medians(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.median([row[key] for row in rows])) for key in rows[0]}


def main() -> None:
    parser = prior_parser(__doc__.splitlines()[0], "bench_stereo_takes")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    bundle = trained_bundle(args, "stereo_takes")
    rate = bundle.codec.config.sample_rate
    takes, placed = [], []
    for seed in range(args.takes):
        take = generate(bundle, seconds=args.seconds, seed=100 + seed)
        takes.append(image(take.audio))
        placed.append(off_centre(bundle, take.codes.side_indices))
    windows, placed_material = [], []
    for entry in scan_folder(args.data, sample_rate=rate).usable:
        audio = load_audio(entry.path, sample_rate=rate, channels=2)
        length = int(args.seconds * rate)
        for start in range(0, audio.shape[1] - length, length):
            windows.append(image(audio[:, start : start + length]))
            if len(placed_material) < 24:
                placed_material.append(
                    material_off_centre(bundle, audio[:, start : start + length])
                )
    made, material = medians(takes), medians(windows)
    lines = [
        f"{datetime.date.today()}, `experiments/bench_stereo_takes.py --codec {args.codec.name} "
        f"--minutes {args.minutes}`, {platform.machine()}, 2 threads: {args.takes} free takes of "
        f"{args.seconds:g} s from a prior trained {args.minutes} min on the stereo codec's own "
        f"files, against {len(windows)} windows of the material. Medians.",
        "",
        "| | side/mid (dB) | L/R correlation | abs(L/R balance) (dB) | mono downmix (dB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in (("takes", made), ("material", material)):
        lines.append(
            f"| {name} | {row['side_mid_db']:.1f} | {row['correlation']:.2f} | "
            f"{row['balance_db']:.2f} | {row['mono_db']:+.2f} |"
        )
    lines.append(
        f"\nDirection rows: {100 * float(np.nanmedian(placed)):.0f} % of the takes' frames x "
        f"bands place the side off centre (|rho| >= 0.5), "
        f"{100 * float(np.nanmedian(placed_material)):.0f} % of the material's."
    )
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record("Stereo", text)


if __name__ == "__main__":
    main()
