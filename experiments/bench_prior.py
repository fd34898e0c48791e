"""The prior: generation speed, controllability of each musical control, novelty, own-material check.

Run: `.venv/bin/python experiments/bench_prior.py [--codec RUN_OR_BUNDLE] [--prior-minutes 10]`.
Without --codec it trains a cpu-small codec on --data (default: the real sonic-pi recordings of
/work/shared/scripts/get-dev-audio.sh) for --codec-minutes (reused when the run exists). A prior is trained on the codec's own folder with `sda-train-prior` for
--prior-minutes (reused when the run exists). Then:
  - speed: seconds of audio per second of wall time on 2 CPU threads (prior alone, and + decoding);
  - controllability: per control, 5 settings x 4 seeds of --clip-seconds (10: the CLI's take),
    the descriptor measured on the decoded audio, Spearman rho between setting and measurement;
  - novelty: the longest run of frames copied verbatim (all levels) from the training codes;
  - own material: Frechet distance of log-mel statistics, generated vs the training audio and vs
    two other real datasets (lmms samples, warzone2100 music);
  - level: the median peak (dBFS) of free takes (no controls), decoded and as `render` writes them,
    next to the training files' median peak.
Prints a table and records it at the end of the "## Prior" section of experiments/RESULTS.md
(unless --no-append).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from results_file import record
from scipy import linalg
from scipy.stats import spearmanr

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure
from sda.audio.dsp import mel_spectrogram
from sda.audio.io import AUDIO_EXTENSIONS, AudioFileError, load_audio
from sda.generate import generate, render
from sda.generate.render import material_peak_dbfs
from sda.generate.stereo_takes import decode_take, downmix, prior_rows
from sda.library import resolve_bundle
from sda.training.thread_waits import described_waits

ROOT = Path(__file__).resolve().parents[1]
DEV = Path.home() / ".cache/sda-dev-audio"
SONIC_PI = DEV / "sonic-pi-samples/usr/share/sonic-pi/samples"
LMMS = DEV / "lmms-common/usr/share/lmms/samples"
WARZONE = DEV / "warzone2100-music/usr/share/games/warzone2100/music"
SETTINGS = (0.1, 0.3, 0.5, 0.7, 0.9)
SEEDS = (0, 1, 2, 3)


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)


def run(command: list[str]) -> None:
    print("running:", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def codec_run(args, work: Path) -> Path:
    if args.codec:
        return Path(args.codec)
    run_dir = work / "codec" / "prior_bench"
    if not (run_dir / "checkpoints" / "last.ckpt").exists():
        run([
            str(Path(sys.executable).with_name("sda-train")), "experiment=cpu-small",
            f"data.dir={args.data}", f"paths.output_dir={work}", "name=prior_bench",
            f"trainer.max_time=00:00:{args.codec_minutes:02d}:00",
        ])  # fmt: skip
    return run_dir


def prior_run(args, codec: Path, work: Path) -> Path:
    run_dir = work / "prior" / args.name
    if not (run_dir / "checkpoints" / "last.ckpt").exists():
        run([
            str(Path(sys.executable).with_name("sda-train-prior")), f"codec={codec}",
            f"model={args.model}", f"paths.output_dir={work}", f"name={args.name}", "threads=2",
            f"trainer.max_time=00:00:{args.prior_minutes:02d}:00", "trainer.max_steps=100000",
            "data.steps_per_epoch=100", "data.batch_size=8", "training.example_seconds=0",
            "training.warmup_steps=30", "training.learning_rate=1e-3", *args.override,
        ])  # fmt: skip
    return run_dir


def speed(bundle, seconds: float, repeats: int = 3) -> tuple[float, float, float]:
    """(x real time prior only, prior + decode, with controls and guidance 3 + decode), each the
    best of `repeats` (a shared machine's noise only ever slows a run down).

    A take comes decoded; the prior's share is its time less one decode of the same codes."""
    generate(bundle, seconds=1.0, seed=99)  # warm up
    whole = decoding = guided = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        take = generate(bundle, seconds=seconds, seed=0)
        whole = min(whole, time.perf_counter() - start)
        start = time.perf_counter()
        decode_take(bundle, take.codes)  # a stereo model decodes both grids
        decoding = min(decoding, time.perf_counter() - start)
        start = time.perf_counter()
        generate(bundle, seconds=seconds, seed=0, guidance=3.0, controls={"brightness": 0.8})
        guided = min(guided, time.perf_counter() - start)
    return seconds / max(whole - decoding, 1e-9), seconds / whole, seconds / guided


def controllability(
    bundle,
    seconds: float,
    guidance: float,
    candidates: int = 1,
    temperature: float = 1.0,
    names: tuple[str, ...] = CONTROL_NAMES,
) -> tuple[dict[str, tuple[float, list]], dict[str, tuple[float, list]]]:
    """Per control: Spearman rho of (setting, measured descriptor) and the mean per setting.

    Two tables from the same takes: the plain decoded codes (what conditioning alone made) and the
    take as the CLI and app write it (`render`: the loudness control also sets the level by a
    gain). `candidates` > 1 lets `generate` keep the closest of that many takes.
    """
    rate = bundle.codec.config.sample_rate
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    plain, rendered = {}, {}
    for name in names:
        index = CONTROL_NAMES.index(name)
        settings, measured = [], {"plain": [], "rendered": []}
        for value in SETTINGS:
            for seed in SEEDS:
                take = generate(
                    bundle, seconds=seconds, seed=seed, guidance=guidance, controls={name: value},
                    candidates=candidates, temperature=temperature,
                )  # fmt: skip
                settings.append(value)
                for kind, audio in (
                    ("plain", decode_take(bundle, take.codes)),  # a stereo model: both grids
                    ("rendered", take.audio),
                ):
                    measured_raw = measure(audio, rate)  # once per take, not once per name
                    raw = np.array([measured_raw[n] for n in CONTROL_NAMES])
                    measured[kind].append(float(stats.normalize(raw)[index]))
        for kind, table in (("plain", plain), ("rendered", rendered)):
            values = measured[kind]
            rho = float(spearmanr(settings, values).statistic)
            means = [
                float(np.mean(values[i * len(SEEDS) : (i + 1) * len(SEEDS)]))
                for i in range(len(SETTINGS))
            ]
            table[name] = (rho, means)
            print(
                f"  {name:10s} x{candidates} {kind:8s} rho {rho:+.2f}  "
                f"means {' '.join(f'{m:.2f}' for m in means)}",
                flush=True,
            )
    return plain, rendered


def median_peak_db(takes: list[np.ndarray]) -> float:
    """Median over takes of each take's peak (dBFS); a silent take counts as -200 dBFS."""
    return float(np.median([20 * np.log10(max(float(np.abs(a).max()), 1e-10)) for a in takes]))


def take_levels(bundle, clips: list, decoded: list[np.ndarray], material: dict | None) -> dict:
    """Median peak (dBFS) of free takes, decoded and rendered, beside the training files' median.

    `material` is what the prior data measured on the original files (PriorDataModule.level); the
    bundle's own record is None for priors trained before the level was recorded.
    """
    return {
        "decoded": median_peak_db(decoded),
        "rendered": median_peak_db([render(bundle, c) for c in clips]),
        "training": (material or {}).get("peak_dbfs"),
        "recorded": material_peak_dbfs(bundle),
    }


def column_ids(grids: list[np.ndarray]) -> list[np.ndarray]:
    """(levels, frames) grids -> (frames,) int64 each: one id per distinct frame column."""
    columns = np.concatenate([g.T for g in grids]).astype(np.int64)
    _, ids = np.unique(columns, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    splits = np.cumsum([g.shape[1] for g in grids])[:-1]
    return np.split(ids, splits)


def longest_copy(generated: np.ndarray, training: list[np.ndarray]) -> int:
    """Longest run of consecutive generated frames found verbatim (all levels) in a training grid."""
    gen, *train = column_ids([generated, *training])

    def grams(seq: np.ndarray, n: int) -> set:
        if len(seq) < n:
            return set()
        return {w.tobytes() for w in np.lib.stride_tricks.sliding_window_view(seq, n)}

    low, high = 0, len(gen)
    while low < high:  # binary search: copies of length n imply copies of every shorter length
        n = (low + high + 1) // 2
        seen = set().union(*(grams(t, n) for t in train))
        if grams(gen, n) & seen:
            low = n
        else:
            high = n - 1
    return low


def log_mel_frames(audio: np.ndarray, rate: int) -> np.ndarray:
    mel = mel_spectrogram(torch.from_numpy(audio), rate, n_fft=2048, hop_length=1024, n_mels=64)
    frames = torch.log(mel.clamp(min=1e-5)).T.numpy().astype(np.float64)  # (frames, mels)
    loud = frames.max(axis=1) > np.log(1e-4)  # silence would dominate the statistics
    return frames[loud]


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def dataset_frames(files: list[Path], rate: int, seconds: float, budget: float) -> np.ndarray:
    """Log-mel frames of up to `seconds` from each file until `budget` seconds are collected."""
    rng = np.random.default_rng(0)
    frames, total = [], 0.0
    for path in rng.permutation(np.array(files, dtype=object)):
        try:
            audio = load_audio(path, sample_rate=rate, channels=1)[0]
        except AudioFileError:  # a few packaged samples are damaged: skip them
            continue
        start = (
            0 if len(audio) <= seconds * rate else int(rng.integers(0, len(audio) - seconds * rate))
        )
        clip = audio[start : start + int(seconds * rate)]
        if len(clip) < 4096:  # too short for a centred 2048-point frame
            continue
        frames.append(log_mel_frames(clip, rate))
        total += len(clip) / rate
        if total >= budget:
            break
    return np.concatenate(frames)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codec", help="codec run, bundle or library name")
    parser.add_argument("--codec-minutes", type=int, default=10)
    parser.add_argument("--data", default=str(SONIC_PI), help="folder the codec trains on")
    parser.add_argument("--name", default="prior_bench", help="prior run name")
    parser.add_argument("--prior-minutes", type=int, default=10)
    parser.add_argument("--model", default="prior_small", help="prior model config (conf/model/)")
    parser.add_argument("--work", default=str(ROOT / "outputs" / "bench_prior"))
    parser.add_argument("--override", nargs="*", default=[], help="extra sda-train-prior overrides")
    parser.add_argument(
        "--checkpoint", choices=("last", "best"), default="last",
        help="the prior's weights: the last, or the lowest validation cross-entropy",
    )  # fmt: skip
    parser.add_argument(
        "--clip-seconds", type=float, default=10.0,
        help="length of each controllability take (10: `sda generate`'s default; rows before "
        "2026-12-06 used 4 s, one prior window)",
    )  # fmt: skip
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument(
        "--candidates", type=int, default=4, help="steered takes to choose from (also measured: 1)"
    )
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="measure generation speed only")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    work = Path(args.work)
    codec = codec_run(args, work)
    prior = prior_run(args, codec, work)
    torch.set_num_threads(2)
    weights = prior / "checkpoints" / f"{args.checkpoint}.ckpt"
    bundle = resolve_bundle(weights)
    steps = torch.load(weights, weights_only=True)["global_step"]
    print(f"prior: {prior} ({steps} steps), codec {bundle.id}", flush=True)

    realtime = speed(bundle, 20.0)
    print(
        "speed x real time (prior, +decode, guided+decode):",
        [f"{x:.1f}" for x in realtime],
        flush=True,
    )
    if args.speed_only:
        return
    clip_seconds = args.clip_seconds
    control, control_rendered = controllability(
        bundle, clip_seconds, args.guidance, temperature=args.temperature
    )
    chosen = (
        controllability(bundle, clip_seconds, args.guidance, args.candidates, args.temperature)[1]
        if args.candidates > 1
        else {}
    )
    start = time.perf_counter()
    generate(bundle, seconds=20.0, seed=0, guidance=args.guidance,
             controls={"brightness": 0.8}, candidates=args.candidates)  # fmt: skip
    chosen_speed = 20.0 / (time.perf_counter() - start)
    material = material_checks(bundle, prior)
    tables = (
        ("conditioning only", control),
        ("one take, rendered", control_rendered),
        (f"{args.candidates} steered, rendered", chosen),
    )
    text = report(args, codec, bundle, steps, realtime, chosen_speed, tables, material)
    print(text)
    if not args.no_append:
        record("Prior", text)


def material_checks(bundle, prior: Path) -> dict:
    """Free takes against the training material: the longest copy of its codes (all levels,
    and the coarse level alone, in frames), Frechet distances of log-mel statistics to it and
    to two other real sets, and the takes' level against the training files'."""
    from sda.training.prior_data import PriorDataModule

    rate = bundle.codec.config.sample_rate
    data = PriorDataModule(
        codec=bundle.codec, dir=Path(_folder(prior)), context_frames=bundle.prior.config.context_frames,
        pad=bundle.prior.config.pad_token, stats=DescriptorStats.from_dict(bundle.descriptor_stats),
    )  # fmt: skip
    data.setup()
    training_codes = [f.codes[0] for f in data.files]
    clips = [generate(bundle, seconds=10.0, seed=100 + i).codes for i in range(8)]
    grids = [prior_rows(bundle, c) for c in clips]  # a stereo take: mid and side, as trained
    copy_frames = max(longest_copy(g, training_codes) for g in grids)
    coarse = max(longest_copy(g[:1], [t[:1] for t in training_codes]) for g in grids)
    decoded = [decode_take(bundle, c) for c in clips]  # free takes: no controls
    mixes = [downmix(audio) for audio in decoded]  # a stereo take: its mid
    generated = np.concatenate([log_mel_frames(audio, rate) for audio in mixes])
    level = take_levels(bundle, clips, decoded, data.level)
    print(
        f"level: free takes' median peak {level['rendered']:.1f} dBFS rendered "
        f"({level['decoded']:.1f} decoded), training files' median peak "
        f"{level['training']:.1f} dBFS (recorded in the bundle: {level['recorded']})",
        flush=True,
    )
    own = dataset_frames([e.path for e in data.report.usable], rate, 10.0, 240.0)
    distances = {f"training set ({Path(_folder(prior)).name})": frechet(generated, own)}
    for label, folder in (("lmms samples", LMMS), ("warzone2100 music", WARZONE)):
        if audio_files(folder):
            distances[label] = frechet(
                generated, dataset_frames(audio_files(folder), rate, 10.0, 240.0)
            )
    frame_rate = bundle.codec.config.frame_rate
    print("novelty: longest copy", copy_frames / frame_rate, "s; FD", distances, flush=True)
    return {"copy": copy_frames, "coarse": coarse, "distances": distances, "level": level}


def report(args, codec: Path, bundle, steps, realtime, chosen_speed, tables, material) -> str:
    """The RESULTS.md entry: the run's description, the table of measures and how to read it."""
    frame_rate = bundle.codec.config.frame_rate
    copy, coarse = material["copy"] / frame_rate, material["coarse"] / frame_rate
    level = material["level"]
    clip_seconds = args.clip_seconds
    lines = [
        f"{date.today()}, `experiments/bench_prior.py`, {platform.machine()}, torch {torch.__version__}, "
        f"2 threads on 2 CPU cores (load average {os.getloadavg()[0]:.1f} at the end; OpenMP waits "
        f"{described_waits(os.environ)}, as the trainers set them). Codec: `{codec.relative_to(ROOT) if codec.is_relative_to(ROOT) else codec}` "
        f"({bundle.codec.config.num_levels} levels x {bundle.codec.config.codebook_size} codes, "
        f"{frame_rate:.2f} frames/s); prior `{args.model}` ({bundle.prior.config.dim} dim, "
        f"{bundle.prior.config.layers} layers, {bundle.prior.config.context_frames}-frame window) trained "
        f"{args.prior_minutes} min on CPU, {args.checkpoint} checkpoint ({steps} steps) on the "
        "codec's own folder.",
        "",
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| generation speed, prior only (x real time, 20 s) | {realtime[0]:.1f} | |",
        f"| generation speed, prior + decoding | {realtime[1]:.1f} | >= 10 |",
        f"| generation speed, guided (controls, guidance 3) + decoding | {realtime[2]:.1f} | |",
    ]
    _, steered = tables[-1]  # empty when only one take was measured
    if steered:
        lines.append(
            f"| generation speed, guided, {args.candidates} steered candidates (decoding included) "
            f"| {chosen_speed:.1f} | |"
        )
    for label, table in tables:
        for name, (rho, means) in table.items():
            target = ">= 0.9" if name in ("brightness", "loudness", "density") else "report"
            lines.append(
                f"| controllability {name}, {label}: Spearman rho (means per setting "
                f"{', '.join(f'{m:.2f}' for m in means)}) | {rho:+.2f} | {target} |"
            )
    lines += [
        f"| novelty: longest verbatim copy of training codes (8 x 10 s) | {copy:.2f} s | < 2 s |",
        f"| novelty, level 0 only: longest copied run of coarse codes | {coarse:.2f} s | |",
    ]
    for label, value in material["distances"].items():
        lines.append(
            f"| Frechet distance of log-mel stats, generated vs {label} | {value:.1f} | own smallest |"
        )
    lines += [
        f"| level: free takes' median peak, rendered (decoded) vs the training files' median peak "
        f"(8 x 10 s) | {level['rendered']:.1f} ({level['decoded']:.1f}) vs "
        f"{level['training']:.1f} dBFS | within 3 dB |",
        "",
        f"Controllability: each control alone at {', '.join(map(str, SETTINGS))} x seeds {SEEDS}, "
        f"{clip_seconds:.1f} s clips, guidance {args.guidance}, temperature {args.temperature}; the descriptor is measured on the decoded "
        "audio and normalised with the training set's stats. 'N steered': `generate(candidates=N)` "
        "draws N candidates in one batch and, every second, continues all from the one whose new "
        "audio measures closest to the controls (`sda.generate.particles`); 'rendered': measured on what `sda generate` and the app write "
        "(`sda.generate.render`: the loudness control also sets the output level with a gain). "
        "Conditioning only: the plain decoded codes of one take; 'one take, rendered': that same "
        "take as written (candidates = 1).",
    ]
    return "\n".join(lines) + "\n"


def _folder(prior: Path) -> str:
    import json

    return json.loads((prior / "dataset_report.json").read_text())["folder"]


if __name__ == "__main__":
    main()
