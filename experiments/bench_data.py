"""Benchmark the data foundation: first vs cached scan of real folders, and resampling speed.

usage: python experiments/bench_data.py [FOLDER ...] [--skip-torchaudio]
Default folders come from ../shared/scripts/get-dev-audio.sh (~/.cache/sda-dev-audio). Prints
the numbers and adds rows to the "## Data" section of experiments/RESULTS.md (creating it).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from results_file import RESULTS

from sda.audio.dsp import resample
from sda.dataset import scan_folder

DEV_AUDIO = Path.home() / ".cache" / "sda-dev-audio"
DEFAULT_FOLDERS = [
    DEV_AUDIO / "sonic-pi-samples/usr/share/sonic-pi/samples",
    DEV_AUDIO / "lmms-common/usr/share/lmms/samples",
]
HEADER = (
    "| date | measurement | seconds | x real time | notes |\n| --- | --- | ---: | ---: | --- |\n"
)


def _timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def bench_scans(folders: list[Path]) -> list[tuple[str, float, float | None, str]]:
    rows = []
    for folder in folders:
        if not folder.is_dir():
            print(f"skip {folder}: not found (run ../shared/scripts/get-dev-audio.sh)")
            continue
        with tempfile.TemporaryDirectory() as cache:
            first, report = _timed(lambda f=folder, c=cache: scan_folder(f, cache_dir=c))
            second, _ = _timed(lambda f=folder, c=cache: scan_folder(f, cache_dir=c))
        audio = report.usable_seconds
        name = "/".join(folder.parts[-2:])
        notes = f"{len(report.usable)}/{len(report.files)} usable, {audio:.0f} s of audio"
        rows.append((f"scan {name}, cold cache", first, audio / first, notes))
        rows.append(
            (f"scan {name}, cached", second, audio / second, f"{first / second:.0f}x faster")
        )
    return rows


def bench_resampling(skip_torchaudio: bool) -> list[tuple[str, float, float | None, str]]:
    import torchaudio.functional as AF

    seconds = 60
    rows = []
    for rate in (44100, 50854):
        audio = np.random.default_rng(0).standard_normal(rate * seconds).astype(np.float32) * 0.1
        resample(audio[:1000], rate, 48000)  # filter design is cached: time the steady state
        elapsed, _ = _timed(lambda a=audio, r=rate: resample(a, r, 48000))
        rows.append(
            (f"sda resample {rate}->48000, {seconds} s mono", elapsed, seconds / elapsed, "")
        )
    audio = torch.randn(44100 * seconds) * 0.1
    elapsed, _ = _timed(lambda: AF.resample(audio, 44100, 48000))
    rows.append(
        (f"torchaudio resample 44100->48000, {seconds} s mono", elapsed, seconds / elapsed, "")
    )
    if not skip_torchaudio:
        clip = torch.randn(5085) * 0.1  # 0.1 s: the kernel build dominates, not the audio
        elapsed, _ = _timed(lambda: AF.resample(clip, 50854, 48000))
        rows.append(("torchaudio resample 50854->48000, 0.1 s clip", elapsed, 0.1 / elapsed, ""))
    return rows


def append_rows(rows: list[tuple[str, float, float | None, str]]) -> None:
    """Insert rows at the end of the "## Data" table, leaving every other section as it is."""
    today = datetime.date.today().isoformat()
    lines = [
        f"| {today} | {what} | {sec:.3f} | {'' if rt is None else f'{rt:.3g}'} | {notes} |\n"
        for what, sec, rt, notes in rows
    ]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if "## Data" not in text:
        machine = f"{platform.machine()}, {torch.get_num_threads()} torch threads"
        section = f"\n## Data\n\nScan and resampling speed ({machine}); bench_data.py.\n\n{HEADER}"
        RESULTS.write_text(text + section + "".join(lines), encoding="utf-8")
        return
    existing = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(existing) if line.startswith("## Data"))
    end = next(
        (i for i in range(start + 1, len(existing)) if existing[i].startswith("## ")), len(existing)
    )
    table_rows = [i for i in range(start, end) if existing[i].startswith("|")]
    at = table_rows[-1] + 1 if table_rows else end
    if not table_rows:
        lines.insert(0, HEADER)
    RESULTS.write_text("".join(existing[:at] + lines + existing[at:]), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    parser.add_argument("--skip-torchaudio", action="store_true", help="skip the slow odd-rate run")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = bench_scans(args.folders) + bench_resampling(args.skip_torchaudio)
    for what, seconds, realtime, notes in rows:
        speed = f"{realtime:8.3g}x" if realtime is not None else ""
        print(f"{what:60s} {seconds:9.3f} s {speed} {notes}")
    if not args.no_record:
        append_rows(rows)
        print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
