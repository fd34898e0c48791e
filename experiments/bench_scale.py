"""Benchmark data at scale: 5, 50 and 500 real files, ~10 hours of music, and one long file.

usage: python experiments/bench_scale.py [--sets 5,50,500,10h,one3h,one10h] [--steps 30]
       [--work DIR] [--no-record] [--keep] [--nice 19] [--scan-workers auto]

Sets are built from the dev audio (../shared/scripts/get-dev-audio.sh, ~/.cache/sda-dev-audio)
by copying real files into --work (nothing is committed): the sonic-pi and LMMS samples (406
files, 11 minutes; the 500-file set repeats some as copies with their own names, so each is its
own cache entry), the 30 Warzone 2100 opus tracks (4 hours, 48 kHz stereo) copied round-robin
up to 10 hours, and one long 48 kHz stereo RF64 WAV (oneNh: N hours) of those tracks written block by
block.
Each measurement runs in its own process, so its peak RSS is its own: a cold scan (then a
cached one), the cache size, and `sda-train experiment=cpu-small` for 1 and 1 + --steps steps
(time to the first step, process start included, and steps/s from the difference). Prints a table and adds it to the
"## Scale" section of experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import RESULTS

DEV_AUDIO = Path.home() / ".cache" / "sda-dev-audio"
SAMPLE_ROOTS = ("sonic-pi-samples/usr/share/sonic-pi/samples", "lmms-common/usr/share/lmms/samples")
MUSIC_ROOT = "warzone2100-music/usr/share/games/warzone2100/music"
SAMPLE_SUFFIXES = {".wav", ".flac", ".ogg"}
HEADER = (
    "| date | set | files | audio | cold scan s | scan peak MB | cached scan s | cache | "
    "first step s | train peak MB | steps/s |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
)

# Runs a command as a child and reports its wall time and peak RSS (ru_maxrss is KiB on Linux).
_MEASURED = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": time.perf_counter() - start, "peak_mb": peak, "rc": done.returncode,
               "stdout": done.stdout[-4000:], "stderr": done.stderr[-4000:]}, out)
"""

_SCAN = """
import json, sys, time
from sda.dataset import scan_folder
start = time.perf_counter()
workers = int(sys.argv[3]) if sys.argv[3] != "auto" else None
report = scan_folder(sys.argv[1], cache_dir=sys.argv[2], workers=workers)
print(json.dumps({"files": len(report.files), "usable": len(report.usable),
                  "seconds": report.usable_seconds, "notes": report.notes,
                  "scan_s": time.perf_counter() - start}))
"""


NICE = 19  # --nice: 0 when the machine is quiet and the numbers should be its own


def measured(command: list[str], cwd: Path | None = None) -> dict:
    """Run `command` in its own process under nice -> seconds, peak_mb, rc, stdout, stderr."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        report = Path(handle.name)
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONWARNINGS": "ignore"}
    subprocess.run(
        ["nice", "-n", str(NICE), sys.executable, "-c", _MEASURED, str(report), *command],
        cwd=cwd, env=env, check=True,
    )  # fmt: skip
    result = json.loads(report.read_text())
    report.unlink()
    return result


def sample_files() -> list[Path]:
    files = [
        path
        for root in SAMPLE_ROOTS
        for path in sorted((DEV_AUDIO / root).rglob("*"))
        if path.suffix.lower() in SAMPLE_SUFFIXES and path.is_file()
    ]
    return [f for f in files if "shapes" not in f.parts and "waveforms" not in f.parts] or files


def copy_round_robin(sources: list[Path], out: Path, count: int) -> Path:
    """`count` files in `out`, cycling through `sources`; later rounds get their own names."""
    out.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        source = sources[index % len(sources)]
        copy = out / f"{index:04d}_{source.stem}{source.suffix}"
        if not copy.exists():
            shutil.copyfile(source, copy)
    return out


def music_hours(out: Path, hours: float) -> Path:
    """The opus tracks copied round-robin until they hold `hours` of music."""
    import soundfile as sf

    tracks = sorted((DEV_AUDIO / MUSIC_ROOT).rglob("*.opus"))
    out.mkdir(parents=True, exist_ok=True)
    total, index = 0.0, 0
    while total < hours * 3600:
        source = tracks[index % len(tracks)]
        shutil.copyfile(source, out / f"{index:03d}_{source.name}")
        total += sf.info(source).duration
        index += 1
    return out


def one_long_file(out: Path, hours: float) -> Path:
    """One 48 kHz stereo PCM_16 WAV of `hours`: ~5 minutes of the opus tracks decoded once, then
    written again and again block by block (the scan's cost is the length, not the content)."""
    import numpy as np
    import soundfile as sf

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"field-recording-{hours:g}h.wav"
    if target.exists():
        return out
    tracks = sorted((DEV_AUDIO / MUSIC_ROOT).rglob("*.opus"))
    excerpt, have = [], 0
    for track in tracks:
        with sf.SoundFile(track) as source:
            for block in source.blocks(blocksize=1 << 16, dtype="int16", always_2d=True):
                excerpt.append(block[:, :2] if block.shape[1] >= 2 else np.repeat(block, 2, 1))
                have += len(block)
        if have >= 5 * 60 * 48000:
            break
    want, written = int(hours * 3600 * 48000), 0
    # RF64: a plain WAV's 32-bit sizes end at 4 GiB (~6.2 h of 48 kHz 16-bit stereo)
    with sf.SoundFile(target, "w", 48000, 2, "PCM_16", format="RF64") as sink:
        while written < want:
            for block in excerpt:
                block = block[: want - written]
                sink.write(block)
                written += len(block)
                if written >= want:
                    break
    return out


def scan_row(folder: Path, cache: Path, workers: str = "auto") -> dict:
    cold = measured([sys.executable, "-c", _SCAN, str(folder), str(cache), workers])
    if cold["rc"] != 0:
        raise SystemExit(f"scan of {folder} failed:\n{cold['stderr']}")
    facts = json.loads(cold["stdout"].strip().splitlines()[-1])
    warm = measured([sys.executable, "-c", _SCAN, str(folder), str(cache), workers])
    from sda.dataset import AudioCache

    return {
        **facts,
        "cold_s": facts["scan_s"],  # the scan itself, without starting Python (~3 s here)
        "scan_peak_mb": cold["peak_mb"],
        "warm_s": json.loads(warm["stdout"].strip().splitlines()[-1])["scan_s"],
        "cache_bytes": AudioCache(cache).usage().total_bytes,
    }


def train_row(folder: Path, cache: Path, work: Path, steps: int) -> dict:
    """`sda-train experiment=cpu-small` for 1 and 1 + steps steps, each from a fresh run dir."""
    runs = {}
    for count in (1, 1 + steps):
        run_dir = work / f"run-{folder.name}-{count}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        command = [
            sys.executable, "-m", "sda.training.train_codec", "experiment=cpu-small",
            f"data.dir={folder}", f"data.cache_dir={cache}", "name=bench",
            f"trainer.max_steps={count}", "trainer.max_time=null",
        ]  # fmt: skip
        runs[count] = measured(command, cwd=run_dir)
        if runs[count]["rc"] != 0:
            print(runs[count]["stderr"][-3000:])
            return {"first_step_s": None, "train_peak_mb": None, "steps_per_s": None}
    first, more = runs[1], runs[1 + steps]
    return {
        "first_step_s": first["seconds"],
        "train_peak_mb": max(first["peak_mb"], more["peak_mb"]),
        # two whole runs apart: below a few seconds the start-up's own spread decides, not the steps
        "steps_per_s": steps / spent if (spent := more["seconds"] - first["seconds"]) > 5 else None,
    }


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _bytes(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.0f} MB"


def _number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table_line(name: str, row: dict) -> str:
    today = datetime.date.today().isoformat()
    return (
        f"| {today} | {name} | {row['usable']}/{row['files']} | {_duration(row['seconds'])} | "
        f"{row['cold_s']:.1f} | {row['scan_peak_mb']:.0f} | {row['warm_s']:.1f} | "
        f"{_bytes(row['cache_bytes'])} | {_number(row.get('first_step_s'), '.1f')} | "
        f"{_number(row.get('train_peak_mb'), '.0f')} | {_number(row.get('steps_per_s'), '.2f')} |\n"
    )


def record(lines: list[str]) -> None:
    """Add the rows to the table under "## Scale" (made once, at the end of RESULTS.md)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if "\n## Scale" not in text:
        intro = (
            "\n## Scale\n\nData at scale (bench_scale.py): real dev audio copied into sets of 5,"
            " 50, 500 files, ~10 h of\nmusic and one 3-hour WAV; each measurement in its own "
            "process (peak RSS is that process's).\n\n"
        )
        RESULTS.write_text(text.rstrip("\n") + "\n" + intro + HEADER + "".join(lines))
        return
    existing = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(existing) if line.startswith("## Scale"))
    end = next((i for i in range(start + 1, len(existing)) if existing[i].startswith("## ")), None)
    end = len(existing) if end is None else end
    rows = [i for i in range(start, end) if existing[i].startswith("|")]
    at = rows[-1] + 1 if rows else end
    if not rows:
        lines = [HEADER, *lines]
    RESULTS.write_text("".join(existing[:at] + lines + existing[at:]), encoding="utf-8")


def build_set(name: str, work: Path) -> tuple[Path, str]:
    """The folder and table label of a set: 5/50/500 (sample files), 10h (music), one3h/one10h."""
    if name in ("3h", "one3h") or name.startswith("one"):
        hours = float(name.removeprefix("one")[:-1])
        return one_long_file(work / f"one-{hours:g}h", hours), f"one {hours:g}-hour stereo WAV"
    if name.endswith("h"):
        return music_hours(work / f"music-{name}", float(name[:-1])), f"music {name}"
    count = int(name)
    return copy_round_robin(
        sample_files(), work / f"samples-{count}", count
    ), f"{count} sample files"


def main() -> None:
    global NICE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="5,50,500,10h,one3h")
    parser.add_argument(
        "--steps", type=int, default=30, help="training steps timed after the first"
    )
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "sda-bench-scale"
    )
    parser.add_argument("--no-train", action="store_true", help="scan only")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the sets and caches in --work")
    parser.add_argument("--nice", type=int, default=NICE, help="niceness of the measured runs")
    parser.add_argument(
        "--scan-workers", default="auto", help="files decoded at once (auto: min(cores, 4))"
    )
    args = parser.parse_args()
    NICE = args.nice
    if not (DEV_AUDIO / SAMPLE_ROOTS[0]).is_dir():
        raise SystemExit(f"{DEV_AUDIO} not found: run ../shared/scripts/get-dev-audio.sh first")
    lines = []
    for name in args.sets.split(","):
        start = time.perf_counter()
        folder, label = build_set(name, args.work)
        one_file = folder.name.startswith("one-")
        built = time.perf_counter() - start
        cache = args.work / f"cache-{folder.name}"
        shutil.rmtree(cache, ignore_errors=True)
        row = scan_row(folder, cache, args.scan_workers)
        if not args.no_train and not one_file:
            row.update(train_row(folder, cache, args.work, args.steps))
        line = table_line(label, row)
        print(f"(built in {built:.0f} s) {line}", end="", flush=True)
        lines.append(line)
        if not args.keep:
            shutil.rmtree(cache, ignore_errors=True)
            if one_file or name.endswith("h"):
                shutil.rmtree(folder, ignore_errors=True)
    print(HEADER + "".join(lines))
    if not args.no_record:
        record(lines)
        print(f"recorded in {RESULTS}")


if __name__ == "__main__":
    main()
