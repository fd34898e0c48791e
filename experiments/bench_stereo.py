"""Stereo coding on real stereo music: mid/side (sda.models.stereo_codec) vs independent L/R.

    python experiments/bench_stereo.py [--audio ~/.cache/sda-dev-audio/warzone2100-music]
        [--fit 3] [--held-out 3] [--seconds 12] [--codebook 256] [--no-record]
    python experiments/bench_stereo.py --minutes 12 --threads 2   # stereo vs mono fine-tunes
        [--override training.stereo_weight=0 ...]                  # sda-train overrides, both

The shipped base codec has no codebooks (each fine-tune seeds its own), so this seeds a quantizer
by k-means on mid AND side latents of the first `--fit` Warzone 2100 tracks, then scores the next
`--held-out` tracks (a `--seconds` clip from the middle of each): side/mid energy ratio error (dB)
and inter-channel correlation error of the reconstructions, the unquantized path (encoder ->
decoder, the ceiling of these weights) beside it, the side with fewer levels, and encode + decode
speed against the mono codec on the downmix. Records the table at the end of the "## Stereo"
section of experiments/RESULTS.md unless --no-record.
Without --minutes no training: the base codec has never been fine-tuned on side signals here.
With `--minutes M` it fine-tunes a stereo and a mono codec from the base on the `--fit` tracks
for M minutes each through `sda-train` itself (experiments/stereo_fine_tune.py) and scores both
on the held-out tracks; a spectrogram picture of one held-out decode goes to /tmp.
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import datetime
import platform
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from results_file import record
from timing import best_time

from sda.audio.dsp import mel_distance
from sda.audio.io import load_audio
from sda.audio.mono_compat import mono_compatibility
from sda.models.base_codec import load_base_codec
from sda.models.codec import Codec
from sda.models.stereo_codec import StereoCodec, mid_side_batch, to_mid_side

WARZONE = Path("~/.cache/sda-dev-audio/warzone2100-music").expanduser()
TINY = 1e-12


def tracks(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.opus") if "enhanced" not in p.name)


def middle_clip(path: Path, rate: int, seconds: float) -> np.ndarray:
    """(2, samples): `seconds` from the middle of a track, at the codec rate."""
    audio = load_audio(path, sample_rate=rate, channels=2)
    length = int(seconds * rate)
    start = max(0, (audio.shape[1] - length) // 2)
    return audio[:, start : start + length]


def side_mid_db(stereo: np.ndarray) -> float:
    mid, side = to_mid_side(np.asarray(stereo, dtype=np.float64))
    return 10 * np.log10((np.sum(side**2) + TINY) / (np.sum(mid**2) + TINY))


def correlation(stereo: np.ndarray) -> float:
    left, right = np.asarray(stereo, dtype=np.float64)
    return float(np.sum(left * right) / np.sqrt(np.sum(left**2) * np.sum(right**2) + TINY))


def seeded_codec(base: Codec, clips: list[np.ndarray], codebook: int) -> Codec:
    """The base encoder/decoder with a quantizer k-means-seeded on mid and side latents."""
    codec = Codec(replace(base.config, codebook_size=codebook, kmeans_iters=6))
    codec.encoder.load_state_dict(base.encoder.state_dict())
    codec.decoder.load_state_dict(base.decoder.state_dict())
    with torch.inference_mode():
        latents = [codec.encode_latents(mid_side_batch(torch.from_numpy(c)[None])) for c in clips]
    codec.quantizer.warm_up(torch.cat(latents, dim=-1).clone())
    return codec.eval()


def lr_decode(codec: Codec, stereo: torch.Tensor, quantized: bool) -> torch.Tensor:
    """The other scheme: left and right coded independently, (1, 2, samples) -> (1, 2, padded)."""
    channels = stereo[0]
    if quantized:
        return codec.decode(codec.encode(channels))[None]
    return codec.decode_latents(codec.encode_latents(channels))[None]


def score(original: np.ndarray, decoded: torch.Tensor, rate: int) -> dict[str, float]:
    out = decoded[0, :, : original.shape[1]].float().numpy()
    mid_o, _ = to_mid_side(original)
    mid_d, _ = to_mid_side(out)
    return {
        "ratio_db": abs(side_mid_db(out) - side_mid_db(original)),
        "corr": abs(correlation(out) - correlation(original)),
        "mid_mel": mel_distance(mid_o, mid_d, rate),
        "mono_db": mono_compatibility(out).downmix_db,
    }


@torch.inference_mode()
def measure(
    codec: Codec, clips: list[np.ndarray], side_levels: list[int], gains: list[float]
) -> dict[str, dict]:
    """Mean scores per coding: unquantized and quantized mid/side at each side gain, fewer side
    levels at the largest gain, and independent L/R."""
    rate = codec.config.sample_rate
    rows: dict[str, list[dict]] = {}

    def add(name: str, clip: np.ndarray, decoded: torch.Tensor) -> None:
        rows.setdefault(name, []).append(score(clip, decoded, rate))

    for clip in clips:
        x = torch.from_numpy(clip)[None]
        for gain in gains:
            stereo = StereoCodec(codec, side_gain=gain)
            add(f"M/S unquantized, side gain {gain:g}", clip, stereo.reconstruct_unquantized(x))
            add(f"M/S, side gain {gain:g}", clip, stereo.decode(stereo.encode(x)))
        for levels in side_levels:
            coded = StereoCodec(codec, side_levels=levels, side_gain=gains[-1])
            add(
                f"M/S, side gain {gains[-1]:g}, {levels} side levels",
                clip,
                coded.decode(coded.encode(x)),
            )
        add("L/R unquantized", clip, lr_decode(codec, x, False))
        add("L/R", clip, lr_decode(codec, x, True))
    return {name: {k: float(np.mean([r[k] for r in v])) for k in v[0]} for name, v in rows.items()}


@torch.inference_mode()
def speeds(codec: Codec, clip: np.ndarray) -> dict[str, float]:
    """x real time of encode + decode: mono (the downmix), stereo (mid/side)."""
    seconds = clip.shape[1] / codec.config.sample_rate
    x = torch.from_numpy(clip)[None]
    mono = to_mid_side(x)[0]
    stereo = StereoCodec(codec)
    codec.decode(codec.encode(mono))  # warm-up
    return {
        "mono": seconds / best_time(lambda: codec.decode(codec.encode(mono)), 5),
        "stereo": seconds / best_time(lambda: stereo.decode(stereo.encode(x)), 5),
    }


def table(results: dict[str, dict], originals: list[np.ndarray]) -> str:
    lines = [
        "| coding | side/mid ratio error (dB) | L/R correlation error | mid mel | mono downmix (dB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['ratio_db']:.2f} | {r['corr']:.3f} | {r['mid_mel']:.2f} | "
            f"{r['mono_db']:+.2f} |"
        )
    ratios = ", ".join(f"{side_mid_db(c):+.1f}" for c in originals)
    corrs = ", ".join(f"{correlation(c):.2f}" for c in originals)
    lines.append(f"\nHeld-out originals: side/mid {ratios} dB; L/R correlation {corrs}.")
    return "\n".join(lines)


def fine_tune_main(args: argparse.Namespace, files: list[Path], rate: int) -> None:
    """--minutes: stereo and mono fine-tunes of the same length, scored on held-out tracks."""
    import stereo_fine_tune as tune

    fit, held_files = files[: args.fit], files[args.fit : args.fit + args.held_out]
    data = tune.training_folder(fit, tune.RUNS / "data")
    stereo = tune.fine_tune(data, 2, args.minutes, args.threads, args.override)
    mono = tune.fine_tune(data, 1, args.minutes, args.threads, args.override)
    torch.set_num_threads(args.threads)
    held = [middle_clip(p, rate, args.seconds) for p in held_files]
    scores, first = tune.held_out(stereo, mono, held)
    picture = tune.save_pictures(held[0], first, rate, Path("/tmp/bench_stereo_lr.png"))
    speed = speeds(stereo.codec, held[0])
    head = (
        f"{datetime.date.today()}, `experiments/bench_stereo.py --minutes {args.minutes}`, "
        f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads. A stereo and "
        f"a mono codec, each fine-tuned from the base for {args.minutes} min by sda-train "
        f"(recipe=cpu, model.channels=2 / 1{''.join(' ' + o for o in args.override)}) on "
        f"{args.fit} Warzone 2100 tracks "
        f"({', '.join(p.name for p in fit)}); scored on {args.seconds:g} s from the middle of "
        f"{', '.join(p.name for p in held_files)} (held out). Best checkpoints (lowest held-out "
        f"mid mel). Wall time: stereo {stereo.seconds / 60:.1f} min, mono "
        f"{mono.seconds / 60:.1f} min (scan and decode included)."
    )
    text = f"{head}\n\n{tune.table(scores, stereo, mono, speed)}"
    print(text)
    print(f"picture: {picture}")
    if not args.no_record:
        record("Stereo", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path, default=WARZONE)
    parser.add_argument("--fit", type=int, default=3)
    parser.add_argument("--held-out", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--codebook", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minutes", type=int, default=0, help="fine-tune stereo and mono")
    parser.add_argument(
        "--override", action="append", default=[], help="sda-train KEY=VALUE for both fine-tunes"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base, _ = load_base_codec()
    rate = base.config.sample_rate
    files = tracks(args.audio)
    if len(files) < args.fit + args.held_out:
        raise SystemExit(f"{args.audio}: need {args.fit + args.held_out} .opus tracks")
    if args.minutes:
        fine_tune_main(args, files, rate)
        return
    fit = [middle_clip(p, rate, 2 * args.seconds) for p in files[: args.fit]]
    held = [middle_clip(p, rate, args.seconds) for p in files[args.fit : args.fit + args.held_out]]
    codec = seeded_codec(base, fit, args.codebook)
    levels = codec.config.num_levels
    results = measure(codec, held, sorted({levels // 2, 2}, reverse=True), [1.0, 2.0, 4.0])
    speed = speeds(codec, held[0])
    head = (
        f"{datetime.date.today()}, `experiments/bench_stereo.py`, {platform.machine()}, "
        f"torch {torch.__version__}, {args.threads} threads. Base codec (no fine-tune) with a "
        f"quantizer k-means-seeded on mid+side latents of {args.fit} Warzone 2100 tracks "
        f"({levels} levels x {args.codebook} codes); {args.held_out} other tracks held out, "
        f"{args.seconds:g} s from the middle of each: "
        f"{', '.join(p.name for p in files[args.fit : args.fit + args.held_out])}."
    )
    body = table(results, held)
    tail = (
        f"\nEncode + decode speed ({args.seconds:g} s clip): mono codec on the downmix "
        f"{speed['mono']:.0f}x real time, stereo mid/side {speed['stereo']:.0f}x."
    )
    text = f"{head}\n\n{body}\n{tail}"
    print(text)
    if not args.no_record:
        record("Stereo", text)


if __name__ == "__main__":
    main()
