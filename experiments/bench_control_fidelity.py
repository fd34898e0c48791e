"""Which controls survive the codec: each descriptor of the material against its decoded copy.

    python experiments/bench_control_fidelity.py --model outputs/bench16tex/prior/textures \
        --data ~/.cache/sda-dev-sets/textures [--no-record]

Every take is decoded by the model's codec, so a control whose descriptor the codec does not keep
cannot be reached by any sampling: the prior's takes only span what the decoder can play (prior
training measures the same on its own material: `sda.training.codec_fidelity`). Each
file of --data (its mid) is encoded and decoded; the six descriptors of 1 s windows (hop 0.5 s)
are measured on the original and on the decoded audio and normalised with the model's ranges.
Prints, per control, Spearman rho original vs decoded and the 10th / 50th / 90th percentiles of
both, and records the table at the end of the "## Prior" section of experiments/RESULTS.md
unless --no-record. --model: a prior run, bundle or library name (its codec and ranges).
"""

from __future__ import annotations

import argparse
import platform
from datetime import date
from pathlib import Path

import numpy as np
import torch
from bench_codec import unseen_clips
from bench_generation_defaults import prior_bundle
from results_file import record

from sda.audio.control_fidelity import fidelity, window_descriptors
from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, analyse


@torch.inference_mode()
def folder_descriptors(codec, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Raw descriptors (windows, 6) of the usable files' 1 s windows: original, decoded."""
    rate = int(codec.config.sample_rate)
    original, decoded = [], []
    for mid in unseen_clips(folder, rate, max_seconds=None):  # whole files, as their mid
        copy = codec.decode(codec.encode(mid[None]))[0]
        length = min(len(mid), len(copy))
        frames = analyse(mid[:length].numpy(), rate), analyse(copy[:length].numpy(), rate)
        pair = window_descriptors(*frames, length)
        original.append(pair[0])
        decoded.append(pair[1])
    return np.concatenate(original), np.concatenate(decoded)


def fidelity_table(original: np.ndarray, decoded: np.ndarray, stats: DescriptorStats) -> str:
    before, after = stats.normalize(original), stats.normalize(decoded)
    lines = [
        "| control | rho original vs decoded | original p10 / p50 / p90 | decoded p10 / p50 / p90 |",
        "| --- | ---: | --- | --- |",
    ]
    rhos = fidelity(before, after)
    for index, name in enumerate(CONTROL_NAMES):
        rho = rhos[name]
        spans = [
            " / ".join(f"{np.percentile(v[:, index], q):.2f}" for q in (10, 50, 90))
            for v in (before, after)
        ]
        lines.append(f"| {name} | {rho:+.2f} | {spans[0]} | {spans[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="prior run, bundle or library name")
    parser.add_argument(
        "--data", type=Path, required=True, help="the material, e.g. its training folder"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bundle = prior_bundle(args.model)
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    original, decoded = folder_descriptors(bundle.codec.eval(), args.data)
    text = (
        f"{date.today()}, `experiments/bench_control_fidelity.py --model {args.model} --data "
        f"{args.data}`, {platform.machine()}: {len(original)} windows of 1 s, normalised with "
        f"the model's ranges.\n\n" + fidelity_table(original, decoded, stats)
    )
    print(text)
    if not args.no_record:
        record("Prior", text)


if __name__ == "__main__":
    main()
