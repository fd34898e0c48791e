"""Which base codec to ship: each candidate fine-tuned the README's way on sets the corpus kept
out, scored on their held-out files, side by side with the shipped base.

    python experiments/bench_base_gate.py CANDIDATE... [--sets DIR ...] [--steps 2000]
        [--seeds 2] [--work DIR] [--export] [--no-record]

A CANDIDATE is a checkpoint of `scripts/train_base_codec.py`'s run (exported to an fp16 file
first, exactly as shipping it would) or a base codec `.safetensors`; the shipped base is always
scored as "shipped". Each set (default: the dev sets the corpus leaves out, drums, textures and
unseen) trains `sda-train`'s default recipe from that base (`init_from=base base_codec=FILE`),
`--steps` steps rather than minutes so every candidate gets the same training whatever the
machine's load (judge at about the steps a laptop's 20 minutes make, 2,000 on a stereo set:
a base that starts fine-tunes faster need not end them better), then scores the best
checkpoint's held-out clips (bench_codec's scoring: held-out mel over all levels, attack peak
error, and on sets with held tones the share kept at their pitch), averaged over `--seeds` runs
(other crops and codebooks): after 1,000 steps on the unseen set two seeds of one base differed
by up to 0.14 (experiments/RESULTS.md, "the base gate"). On 2 CPU cores a 2,000-step run takes
about 12 minutes on the drums, 20 on a stereo set.

Why: the corpus's own held-out mel rewards a base that specialises in the corpus. A run trained
on from 5,069 to 14,469 steps scored better there and on corpus-like material, and worse on drum
one-shots and on synthesised sounds (experiments/RESULTS.md, "the base codec trained on").

A candidate passes when its mean held-out mel over the sets is below the shipped base's and no
set is worse than the shipped base's by more than `--tolerance` (run-to-run noise is ~0.03).
`--export` ships the passing candidate with the lowest mean (sda/assets/base_codec.safetensors;
then update sda/assets/BASE_CODEC.md). With `--work DIR` the fine-tunes and scores stay in DIR
and a second call skips what was scored. Records the table under "## Codec" unless --no-record.
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import datetime
import importlib.util
import logging
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path

import torch
from bench_base import Scores, train_and_score
from results_file import record

from sda.models.base_codec import (
    QUANTIZER_SETTINGS,
    STEREO_SETTINGS,
    base_codec_path,
    load_base_codec,
)

REPO = Path(__file__).resolve().parents[1]
DEV_SETS = Path.home() / ".cache" / "sda-dev-sets"
KEPT_OUT = ("drums", "textures", "unseen")  # scripts/base_corpus.py leaves these files out
SHIPPED = "shipped"


def base_script():
    """scripts/train_base_codec.py as a module: it writes base files the way shipping does."""
    path = REPO / "scripts" / "train_base_codec.py"
    spec = importlib.util.spec_from_file_location("train_base_codec", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("train_base_codec", module)
    spec.loader.exec_module(module)
    return module


def candidate_files(candidates: list[Path], folder: Path) -> dict[str, Path]:
    """Label -> base codec file: the shipped base, then each candidate (a checkpoint is written
    out as an fp16 base file first)."""
    files = {SHIPPED: base_codec_path()}
    folder.mkdir(parents=True, exist_ok=True)
    for candidate in candidates:
        label = candidate.stem if candidate.suffix != ".ckpt" else _checkpoint_label(candidate)
        if candidate.suffix == ".ckpt":
            target = folder / f"{label}.safetensors"
            if not target.is_file():
                base_script().export_checkpoint(candidate, target)
            candidate = target
        files[label] = candidate
    return files


def _checkpoint_label(path: Path) -> str:
    """A run's checkpoint by run and file: base-continued/step0004000."""
    return f"{path.parent.parent.name}-{path.stem}"


def architecture_overrides(file: Path) -> list[str]:
    """`model.KEY=VALUE` for every architecture setting of the base in `file`, so the recipe's
    codec fits a candidate whose network differs from the shipped one (a shorter synthesis
    window, fine-time envelopes); the codebooks and the stereo layout stay the recipe's."""
    config = load_base_codec(file)[0].config
    own = set(QUANTIZER_SETTINGS) | set(STEREO_SETTINGS) | {"num_levels"}
    return [
        f"model.{f.name}={getattr(config, f.name)}" for f in fields(config) if f.name not in own
    ]


def fine_tune(file: Path, data: Path, label: str, steps: int, seed: int, work: Path) -> dict:
    """The default recipe from the base in `file` for `steps` steps; its held-out scores."""
    _, ckpt, quality = train_and_score(
        [
            *architecture_overrides(file),
            f"data.dir={data}",
            "init_from=base",
            f"base_codec={file}",
            "trainer.max_time=null",
            f"trainer.max_steps={steps}",
            f"paths.output_dir={work / 'outputs'}",
            f"name={data.name}-{label}" + (f"-seed{seed}" if seed else ""),
            f"seed={seed}",
        ]
    )
    return {
        "date": str(datetime.date.today()),
        "candidate": label,
        "set": data.name,
        "steps": steps,
        "seed": seed,
        "best_step": int(ckpt["global_step"]),
        "mel": quality["mel_by_levels"][max(quality["mel_by_levels"])],
        "unquantized": quality["mel_unquantized"],
        "attack": quality["attack_peak_error_db"],
        "tone_kept": quality["tone_kept"],  # held tones at their pitch (None: no held tones)
    }


def verdict(rows: list[dict], tolerance: float) -> dict[str, dict]:
    """Per candidate: mean held-out mel over the sets, worst set against the shipped base, and
    whether it passes (better on average, no set worse by more than `tolerance`)."""
    by = seed_means(rows, "mel")
    sets = sorted({r["set"] for r in rows})
    shipped = {s: by[(SHIPPED, s)] for s in sets if (SHIPPED, s) in by}
    results = {}
    for candidate in dict.fromkeys(r["candidate"] for r in rows):
        scored = [s for s in sets if (candidate, s) in by and s in shipped]
        if not scored:
            continue
        mean = sum(by[(candidate, s)] for s in scored) / len(scored)
        base_mean = sum(shipped[s] for s in scored) / len(scored)
        worst = max(by[(candidate, s)] - shipped[s] for s in scored)
        complete = len(scored) == len(shipped)
        passes = candidate != SHIPPED and complete and mean < base_mean and worst <= tolerance
        results[candidate] = {"mean": mean, "worst_vs_shipped": worst, "passes": passes}
    return results


def seed_means(rows: list[dict], key: str) -> dict[tuple[str, str], float]:
    """(candidate, set) -> the mean of `key` over its seeds (None where a run had none)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["candidate"], r["set"]), []).append(r[key])
    return {k: (None if None in v else sum(v) / len(v)) for k, v in groups.items()}


def winner(results: dict[str, dict]) -> str | None:
    """The passing candidate with the lowest mean held-out mel, or None: keep the shipped."""
    passing = [c for c, r in results.items() if r["passes"]]
    return min(passing, key=lambda c: results[c]["mean"]) if passing else None


def table(rows: list[dict], results: dict[str, dict]) -> str:
    sets = sorted({r["set"] for r in rows})
    mel, attack = seed_means(rows, "mel"), seed_means(rows, "attack")
    tone = seed_means([{"tone_kept": None, **r} for r in rows], "tone_kept")
    best = {(r["candidate"], r["set"]): r["best_step"] for r in rows}
    lines = [
        "| candidate | "
        + " | ".join(f"{s}: mel / attack dB [/ tone kept] (best step)" for s in sets)
        + " | mean mel | worst set vs shipped | passes |",
        "| --- | " + " | ".join("---" for _ in sets) + " | ---: | ---: | --- |",
    ]
    for candidate, result in results.items():
        cells = []
        for s in sets:
            key = (candidate, s)
            dbs = "-" if attack.get(key) is None else f"{attack[key]:.1f}"
            held = "" if tone.get(key) is None else f" / {tone[key]:.2f}"  # rows from before: none
            cells.append("-" if key not in mel else f"{mel[key]:.3f} / {dbs}{held} ({best[key]})")
        lines.append(
            f"| {candidate} | " + " | ".join(cells) + f" | {result['mean']:.3f} "
            f"| {result['worst_vs_shipped']:+.3f} | {'yes' if result['passes'] else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", type=Path, nargs="*", help=".ckpt or .safetensors files")
    parser.add_argument("--sets", type=Path, nargs="+", default=[DEV_SETS / s for s in KEPT_OUT])
    parser.add_argument("--steps", type=int, default=2000, help="fine-tune steps per set")
    parser.add_argument("--seeds", type=int, default=2, help="runs per candidate and set")
    parser.add_argument("--tolerance", type=float, default=0.03, help="worst set's allowance")
    parser.add_argument("--work", type=Path, default=None, help="keep runs and scores here")
    parser.add_argument("--export", action="store_true", help="ship the winner, if any")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="sda-base-gate-"))
    work.mkdir(parents=True, exist_ok=True)
    files = candidate_files(args.candidates, work)
    scores = Scores(work / "scores.json", keys=("candidate", "set", "steps", "seed"))
    rows = []
    for seed in range(args.seeds):  # every candidate once before any twice: a call cut short
        for label, file in files.items():  # still compares them all
            for data in args.sets:
                row = scores.get(label, data.name, args.steps, seed)
                if row is None:
                    row = fine_tune(file, data, label, args.steps, seed, work)
                    scores.add(row)
                print(row, flush=True)
                rows.append(row)
    results = verdict(rows, args.tolerance)
    text = table(rows, results)
    chosen = winner(results)
    print(text)
    print(f"winner: {chosen or 'none: the shipped base stays'}")
    if args.export and chosen is not None:
        target = base_codec_path()
        shutil.copyfile(files[chosen], target.with_name(target.name + ".partial"))
        target.with_name(target.name + ".partial").replace(target)
        print(f"shipped {chosen} as {target}: update sda/assets/BASE_CODEC.md")
    if not args.no_record:
        sets = " ".join(str(s) for s in args.sets)
        record(
            "Codec",
            f"`experiments/bench_base_gate.py ... --sets {sets} --steps {args.steps}` "
            f"({datetime.date.today()}; winner: {chosen or 'none'}):\n\n{text}",
        )


if __name__ == "__main__":
    main()
