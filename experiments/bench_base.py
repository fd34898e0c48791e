"""From scratch vs fine-tuned from the base codec, side by side, at several training budgets.

    python experiments/bench_base.py --data ~/.cache/sda-dev-sets/drums --files 5 40 \
        --minutes 5 20 60 [--unseen ~/.cache/sda-dev-sets/unseen]

For each start (init_from=base, init_from=none) and each file count (the first N files of the
folder, linked into a scratch folder), one run trains to the first budget, is scored, then resumes
to the next budget (trainer.max_time counts across resumes, the learning-rate schedule by steps),
and so on. Scores are bench_codec's: held-out mel of the best checkpoint on the run's held-out
clips and on the unseen folder, attack peak error. Prints a table and records it at the end of
the "## Codec" section of experiments/RESULTS.md unless --no-record.

An hour's budget may not fit in one sitting: with `--work DIR` the runs and their scores stay in
DIR, and calling again with the same DIR skips the budgets already scored and resumes a run cut
short from its last checkpoint (the time it had spent counts; the minutes since that checkpoint
are spent again).
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import datetime
import json
import tempfile
from pathlib import Path

import torch
from bench_codec import clip_quality, evaluate, load_codec, unseen_clips
from hydra.utils import instantiate
from results_file import record

from sda.models.codec import Codec
from sda.training.train_codec import compose_config, datamodule_config, train


def subset(folder: Path, count: int, scratch: Path) -> Path:
    """The first `count` audio files of `folder`, linked into a folder of their own."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".wav", ".flac", ".ogg"})
    out = scratch / f"{folder.name}-{count}"
    out.mkdir(parents=True, exist_ok=True)
    for file in files[:count]:
        if not (out / file.name).exists():
            (out / file.name).symlink_to(file.resolve())
    return out


def run_budgets(data: Path, start: str, budgets: list[float], args, scratch: Path) -> list[dict]:
    scores = Scores(scratch / "scores.json")
    rows = []
    for minutes in budgets:
        done = scores.get(data.name, start, float(minutes))
        if done is not None:  # a --work folder from an earlier, interrupted call
            print(f"scored before: {done}", flush=True)
            rows.append(done)
            continue
        seconds = int(minutes * 60)
        codec, ckpt, quality = train_and_score(
            [
                f"data.dir={data}",
                f"init_from={start}",
                f"trainer.max_time=00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
                f"paths.output_dir={scratch / 'outputs'}",
                f"name={data.name}-{start}",
            ]
        )
        unseen = clip_quality(codec, unseen_clips(args.unseen, 48000)) if args.unseen else None
        rows.append(
            {
                "date": str(datetime.date.today()),
                "files": data.name,
                "start": start,
                "minutes": minutes,
                "steps": int(ckpt["global_step"]),
                "mel": quality["mel_by_levels"][max(quality["mel_by_levels"])],
                "attack": quality["attack_peak_error_db"],
                "unseen_mel": unseen["mel_by_levels"][max(unseen["mel_by_levels"])]
                if unseen
                else None,
            }
        )
        scores.add(rows[-1])
        print(rows[-1], flush=True)
    return rows


def train_and_score(overrides: list[str]) -> tuple[Codec, dict, dict]:
    """A run of `sda-train`'s default recipe with `overrides` (2 threads): its best
    checkpoint's codec, that checkpoint, and bench_codec's scores of the run's held-out clips."""
    cfg = compose_config([*overrides, "threads=2", "trainer.enable_progress_bar=false"])
    codec, ckpt = load_codec(train(cfg), "best")
    return codec, ckpt, evaluate(codec, instantiate(datamodule_config(cfg)))


class Scores:
    """The rows scored so far in a work folder, so a call cut short goes on where it stopped.
    A row is found again by the values of `keys` (bench_base: set, start and budget)."""

    def __init__(self, path: Path, keys: tuple[str, ...] = ("files", "start", "minutes")) -> None:
        self.path = path
        self.keys = keys
        self.rows = json.loads(path.read_text()) if path.exists() else []

    def get(self, *values) -> dict | None:
        wanted = tuple(values)
        return next((r for r in self.rows if tuple(r[k] for k in self.keys) == wanted), None)

    def add(self, row: dict) -> None:
        self.rows.append(row)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.rows, indent=1))
        partial.replace(self.path)


def table(rows: list[dict]) -> str:
    lines = [
        "| date | set | start | budget | best step | held-out mel | attack peak error dB | unseen mel |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        unseen = f"{r['unseen_mel']:.2f}" if r["unseen_mel"] is not None else "-"
        attack = f"{r['attack']:.1f}" if r["attack"] is not None else "-"
        when = r.get("date", datetime.date.today())
        lines.append(
            f"| {when} | {r['files']} | {r['start']} | {r['minutes']:g} min "
            f"| {r['steps']} | {r['mel']:.2f} | {attack} | {unseen} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--files", type=int, nargs="+", default=[5, 40])
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 20, 60])
    parser.add_argument("--starts", nargs="+", default=["base", "none"])
    parser.add_argument("--unseen", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=None, help="keep runs and scores here")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    scratch = args.work or Path(tempfile.mkdtemp(prefix="sda-bench-base-"))
    rows = []
    for count in args.files:
        for start in args.starts:
            rows += run_budgets(
                subset(args.data, count, scratch), start, args.minutes, args, scratch
            )
    text = table(rows)
    print(text)
    if not args.no_record:
        record("Codec", f"`experiments/bench_base.py --data {args.data}`:\n\n{text}")


if __name__ == "__main__":
    main()
