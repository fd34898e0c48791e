"""Sound DNA: stability of the codes through decode -> encode on held-out audio, exactness of the
edits, and the speed of every operation.

Run: `.venv/bin/python experiments/bench_dna.py [--model BUNDLE_OR_RUN] [--audio DIR]`.
Without --model it trains a `cpu-small` codec on the audio files not held out (every 5th file is
held out) for --train-minutes in total with `sda-train`, resuming that run when it exists (so
repeated runs with a growing budget keep each one under ten minutes; 0 reuses it as it is). Audio
defaults to the real recordings of /work/shared/scripts/get-dev-audio.sh (sonic-pi samples),
else the synthesized demo set. Prints a table and records it at the end of the "## Sound DNA"
section of experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import torch
from results_file import RESULTS, record
from timing import best_time

from sda.audio.io import AUDIO_EXTENSIONS, load_audio
from sda.dna import analytics, blend, codec_bridge, edit
from sda.dna.session import Session
from sda.library import resolve_bundle

DEV_AUDIO = Path.home() / ".cache/sda-dev-audio/sonic-pi-samples/usr/share/sonic-pi/samples"
MAX_SECONDS = 8.0  # per held-out file: long loops would dominate the agreement average


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)


def default_audio(work: Path) -> Path:
    if audio_files(DEV_AUDIO):
        return DEV_AUDIO
    from sda.dataset.demo import synthesize_demo_set

    folder = work / "demo_audio"
    if not audio_files(folder):
        synthesize_demo_set(folder, seed=0, count=40)
    return folder


def train_codec(
    train: list[Path], work: Path, minutes: int, *, name: str, overrides: list[str]
) -> Path:
    """A cpu-small codec run on `train` (symlinked into one folder).

    Re-running resumes the same run: `minutes` is the total training time (Lightning's timer is
    restored from the checkpoint), so a longer budget continues and `0` reuses the run as it is.
    """
    data = work / "train_audio"
    data.mkdir(parents=True, exist_ok=True)
    for path in train:
        link = data / f"{path.parent.name}__{path.name}"
        if not link.exists():
            link.symlink_to(path)
    run = work / "codec" / name
    if minutes <= 0:
        return run
    command = [
        str(Path(sys.executable).with_name("sda-train")),
        "experiment=cpu-small",
        f"data.dir={data}",
        f"paths.output_dir={work}",
        f"name={name}",
        f"trainer.max_time=00:00:{minutes:02d}:00",
        *overrides,
    ]
    print("training:", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    return run


def stability(bundle, clips: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """Per level, the share of frames whose code survives decode -> encode (frame-weighted)."""
    same, total = None, 0
    for audio in clips.values():
        codes = codec_bridge.encode_audio(bundle, audio)
        again = codec_bridge.encode_audio(bundle, codec_bridge.decode(bundle, codes))
        frames = min(codes.frames, again.frames)
        match = (codes.indices[:, :frames] == again.indices[:, :frames]).sum(axis=1)
        same = match if same is None else same + match
        total += frames
    return same / total, total


def exactness(bundle, grids: list, work: Path) -> dict[str, bool]:
    a, b = grids[0], grids[1]
    ia, ib = edit.fit_pair(a, b)
    session = Session()
    session.add_source("a", a)
    session.add_source("b", b)
    session.apply(edit.swap_levels(session.current, b, slice(0, 2)))
    session.apply(blend.blend(bundle, session.current, b, 0.5))
    before = codec_bridge.decode(bundle, session.current)
    reloaded = Session.load(session.save(work / "bench.sdasession"))
    return {
        "swap all levels == the other file": np.array_equal(
            edit.swap_levels(a, b, None).indices, ia
        )
        and np.array_equal(edit.swap_levels(b, a, None).indices, ib),
        "blend alpha=0 == A, alpha=1 == B": np.array_equal(blend.blend(bundle, a, b, 0).indices, ia)
        and np.array_equal(blend.blend(bundle, a, b, 1).indices, ib),
        "reloaded session decodes bit-identically": np.array_equal(
            before, codec_bridge.decode(bundle, reloaded.current)
        ),
    }


def timings(bundle, audio: np.ndarray, grids: dict, work: Path) -> list[tuple[str, float]]:
    seconds = len(audio) / bundle.codec.config.sample_rate
    a = codec_bridge.encode_audio(bundle, audio)
    b = edit.loop(list(grids.values())[1], frames=a.frames)
    config = bundle.codec.config
    session = Session()
    session.add_source("a", a)
    for n in range(20):
        session.apply(edit.set_cells(session.current, [(0, n, n % a.codebook_size)]))
    path = work / "timing.sdasession"
    rows = [
        (f"encode {seconds:.0f} s of audio", lambda: codec_bridge.encode_audio(bundle, audio)),
        (f"decode {seconds:.0f} s, all levels", lambda: codec_bridge.decode(bundle, a)),
        (f"decode {seconds:.0f} s, first 2 levels", lambda: codec_bridge.decode(bundle, a, levels=2)),
        ("swap_levels 0:2", lambda: edit.swap_levels(a, b, slice(0, 2))),
        ("swap_span (1 s)", lambda: edit.swap_span(a, b, start=0, end=int(config.frame_rate))),
        ("morph (levels)", lambda: edit.morph_levels(a, b)),
        ("randomize_region (all levels, 1 s)", lambda: edit.randomize_region(a, start=0, end=int(config.frame_rate))),
        ("blend alpha=0.5 (latent)", lambda: blend.blend(bundle, a, b, 0.5)),
        ("morph_latents", lambda: blend.morph_latents(bundle, a, b)),
        ("session save (21 steps)", lambda: session.save(path)),
        ("session load (21 steps)", lambda: Session.load(path)),
        (f"analytics: usage + signatures + similarity, {len(grids)} files", lambda: (
            analytics.level_usage(grids.values()), analytics.signature_codes(grids),
            analytics.similarity(grids))),
        (f"frame descriptors of {seconds:.0f} s (for code profiles)", lambda: analytics.frame_descriptors(
            audio, sample_rate=config.sample_rate, samples_per_frame=config.samples_per_frame,
            frames=a.frames)),
    ]  # fmt: skip
    return [(label, best_time(fn)) for label, fn in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="bundle folder, training run or library name")
    parser.add_argument("--audio", type=Path, help="folder of recordings (default: dev audio)")
    parser.add_argument("--holdout-every", type=int, default=5)
    parser.add_argument("--train-minutes", type=int, default=8)
    parser.add_argument("--work", type=Path, default=Path("outputs/bench_dna"))
    parser.add_argument("--run-name", default="dna_bench", help="codec run name under WORK/codec")
    parser.add_argument(
        "--override", action="append", default=[], help="extra sda-train override, repeatable"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)

    folder = args.audio or default_audio(args.work)
    files = audio_files(folder)
    held_out = files[:: args.holdout_every]
    train = [p for p in files if p not in held_out]
    if args.model:
        bundle = resolve_bundle(args.model)
        model_note = f"model {args.model}"
    else:
        run = train_codec(
            train, args.work, args.train_minutes, name=args.run_name, overrides=args.override
        )
        bundle = resolve_bundle(str(run))
        steps = (bundle.meta.get("training") or {}).get("codec", {}).get("global_step")
        model_note = (
            f"cpu-small codec{''.join(' ' + o for o in args.override)} trained {args.train_minutes} min"
            f"{f' ({steps} steps)' if steps else ''} on {len(train)} files"
        )
    config = bundle.codec.config
    rate = config.sample_rate
    clips = {}
    for path in held_out:
        audio = load_audio(path, sample_rate=rate, channels=1)[0][: int(MAX_SECONDS * rate)]
        if audio.size >= config.samples_per_frame * 4:
            clips[path.name] = audio
    print(f"{bundle.name} ({bundle.id}): {config.num_levels} levels x {config.codebook_size} codes; "
          f"{len(clips)} held-out clips from {folder}", flush=True)  # fmt: skip

    agreement, frames = stability(bundle, clips)
    grids = {name: codec_bridge.encode_audio(bundle, audio) for name, audio in clips.items()}
    usage = analytics.usage_summary(analytics.level_usage(grids.values()))
    with tempfile.TemporaryDirectory() as tmp:
        checks = exactness(bundle, list(grids.values()), Path(tmp))
        longest = max(clips.values(), key=len)
        material = np.tile(longest, int(np.ceil(10 * rate / len(longest))))[: 10 * rate]
        times = timings(bundle, material, grids, Path(tmp))

    lines = [
        f"{date.today().isoformat()}, {model_note}; {len(clips)} held-out real recordings "
        f"({frames} frames, up to {MAX_SECONDS:g} s each) from {folder.name}/, "
        f"{platform.machine()}, {args.threads} torch threads on shared CPU cores, best of 3.",
        "",
        "Stability: share of frames whose code is unchanged by encode(decode(codes)), per level "
        "(level 1 = index 0, the coarsest; target >= 80 % for level 1).",
        "",
        "| level | agreement | codes used | perplexity |",
        "| ---: | ---: | ---: | ---: |",
        *(
            f"| {level + 1} | {value:.1%} | {row['used']} / {config.codebook_size} | "
            f"{row['perplexity']:.1f} |"
            for level, (value, row) in enumerate(zip(agreement, usage, strict=True))
        ),
        "",
        "| exactness check | holds |",
        "| --- | --- |",
        *(f"| {label} | {'yes' if ok else 'NO'} |" for label, ok in checks.items()),
        "",
        f"| operation (10 s grid: {config.num_levels} x {-(-10 * rate // config.samples_per_frame)}) | ms |",
        "| --- | ---: |",
        *(f"| {label} | {seconds * 1000:.2f} |" for label, seconds in times),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        record("Sound DNA", text)
        print(f"recorded under ## Sound DNA in {RESULTS}")


if __name__ == "__main__":
    main()
