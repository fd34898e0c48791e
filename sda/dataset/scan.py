"""Judge every file of a folder of recordings: usable or skipped (and why), with flags and totals.

A scan never stops on a bad file and reads each file block by block, so its memory does not grow
with the length of a recording. Decoded audio (mono, model rate) lands in the `AudioCache`, so the
second scan and every training run read (memory-mapped) arrays instead of decoding again. A scan for
a stereo run (`channels=2`, or "auto" when most of the audio is stereo) caches left/right instead.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sda.dataset.cache import AudioCache
from sda.dataset.channels import choose_channels, header_facts, parse_channels
from sda.dataset.measure import SILENCE_PEAK, MemorySink, measure_file
from sda.dataset.measure_pool import default_scan_workers, measure_in_order, measure_into_cache
from sda.dataset.walk import walk_folder
from sda.errors import SdaError

log = logging.getLogger(__name__)

FRAME_RATE = 48000 / 1024  # latent frames per second of the default codec (~47)


class DatasetError(SdaError):
    """A folder holds nothing to train on, or cannot be scanned at all."""


@dataclass
class FileReport:
    """The verdict on one file: "ok" or "skipped" with a reason; flags note what was fixed."""

    path: Path
    verdict: str  # "ok" | "skipped"
    reason: str = ""  # why it was skipped, in plain words
    flags: list[str] = field(default_factory=list)  # e.g. "resampled (44100 Hz -> 48000 Hz)"
    seconds: float = 0.0  # duration of the audio in the file
    sample_rate: int = 0  # the file's own rate
    channels: int = 0

    @property
    def usable(self) -> bool:
        return self.verdict == "ok"


@dataclass
class DatasetReport:
    """Every audio file found under `folder` with its verdict, plus what was ignored."""

    folder: Path
    sample_rate: int
    min_seconds: float
    files: list[FileReport]
    ignored_hidden: int = 0  # hidden files and folders (a folder counts once)
    ignored_other: int = 0  # files whose extension is not audio
    cache_dir: str | None = None  # where decoded audio lives; None: caching was off
    notes: list[str] = field(default_factory=list)  # folders not entered, cache problems
    channels: int = 1  # the layout the audio is read in: 1 mono, 2 left/right (stereo runs)
    channel_choice: str = ""  # why (sda.dataset.channels.ChannelChoice.line)

    @property
    def usable(self) -> list[FileReport]:
        return [report for report in self.files if report.usable]

    @property
    def skipped(self) -> list[FileReport]:
        return [report for report in self.files if not report.usable]

    @property
    def usable_seconds(self) -> float:
        return float(sum(report.seconds for report in self.usable))

    @property
    def ignored(self) -> int:
        return self.ignored_hidden + self.ignored_other

    def num_frames(self, frame_rate: float = FRAME_RATE) -> int:
        """Latent frames in the usable audio (padding not counted): sizes the codebook."""
        return int(math.floor(self.usable_seconds * frame_rate))

    def require_usable(self) -> None:
        """Raise `DatasetError` with one clear sentence when nothing can be trained on."""
        if self.usable:
            return
        if not self.files:
            raise DatasetError(
                f"No audio files found in {self.folder}: add .wav, .flac, .aiff, .ogg, .opus "
                f"or .mp3 files ({self.ignored} other entries were ignored)."
            )
        raise DatasetError(
            f"None of the {len(self.files)} audio files in {self.folder} is usable: "
            f"run `sda data inspect {self.folder}` to see why each was skipped."
        )

    def warnings(self, shown: int = 10) -> list[str]:
        """One line per folder note and skipped file (the first `shown` of them, by name and
        reason), for a training run's console; the rest are counted, with where to see them."""
        lines = list(self.notes)
        for report in self.skipped[:shown]:
            lines.append(f"skipped {self.shown_path(report.path)}: {report.reason}")
        if len(self.skipped) > shown:
            lines.append(
                f"... and {len(self.skipped) - shown} more skipped: "
                f"`sda data inspect {self.folder}` lists every file and why"
            )
        return lines

    def shown_path(self, path: Path) -> str:
        """A file's path inside the folder (the path itself when it lies elsewhere)."""
        try:
            return str(path.relative_to(self.folder))
        except ValueError:
            return str(path)

    def summary(self) -> str:
        return (
            f"{len(self.usable)} usable of {len(self.files)} audio files, "
            f"{self.usable_seconds:.1f} s, {self.num_frames()} frames; "
            f"{self.ignored} ignored ({self.ignored_hidden} hidden, {self.ignored_other} not audio)"
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["folder"] = str(self.folder)
        for entry in data["files"]:
            entry["path"] = str(entry["path"])
        data["totals"] = {
            "usable_files": len(self.usable),
            "usable_seconds": self.usable_seconds,
            "frames": self.num_frames(),
            "frame_rate": FRAME_RATE,
        }
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetReport:
        files = [FileReport(**{**entry, "path": Path(entry["path"])}) for entry in data["files"]]
        fields = {k: v for k, v in data.items() if k not in ("files", "totals", "folder")}
        return cls(folder=Path(data["folder"]), files=files, **fields)

    @classmethod
    def from_json(cls, text: str) -> DatasetReport:
        return cls.from_dict(json.loads(text))


def _channel_flag(have: int, channels: int) -> str:
    """How a file's channels are read in a run of `channels` (empty: as they are)."""
    if channels == 1:
        return f"mixed ({have} channels -> mono)" if have > 1 else ""
    if have == 1:
        return "mono -> centred stereo"
    return f"{have} channels -> stereo" if have > 2 else ""


def _judge(
    path: Path, info: dict, sample_rate: int, min_seconds: float, channels: int = 1
) -> FileReport:
    if "error" in info:
        return FileReport(path, "skipped", reason=info["error"])
    report = FileReport(
        path,
        "ok",
        seconds=info["seconds"],
        sample_rate=info["sample_rate"],
        channels=info["channels"],
    )
    if not info["finite"]:
        report.verdict, report.reason = "skipped", "contains NaN or infinite samples"
    elif info["peak"] < SILENCE_PEAK:
        report.verdict, report.reason = "skipped", "silent (loudest sample below -70 dBFS)"
    if not report.usable:
        return report
    if info["seconds"] < min_seconds:
        report.flags.append(f"short ({info['seconds']:.4g} s, padded to {min_seconds:g} s)")
    if info["truncated"]:
        report.flags.append("truncated (the file ends early; the audio before the cut is used)")
    if info["clipped_runs"] > 0:
        report.flags.append("clipped (flat tops at full scale)")
    elif info["peak"] > 1.0:
        report.flags.append(f"over full scale (peak {20 * math.log10(info['peak']):+.1f} dBFS)")
    if info["sample_rate"] != sample_rate:
        report.flags.append(f"resampled ({info['sample_rate']} Hz -> {sample_rate} Hz)")
    if flag := _channel_flag(info["channels"], channels):
        report.flags.append(flag)
    return report


def scan_folder(
    folder: str | os.PathLike,
    *,
    sample_rate: int = 48000,
    min_seconds: float = 1.0,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int, Path], None] | None = None,
    workers: int | None = None,
    channels: int | str = 1,
) -> DatasetReport:
    """Scan `folder` recursively and judge every audio file; never raises for a bad file.

    `min_seconds` is the shortest useful length (one training crop): shorter files are kept,
    flagged and padded. `cache_dir=None` uses the per-user cache; `use_cache=False` turns it off.
    `workers` files are decoded at once (None: one per core, at most 4; 1: one after another);
    the report is the same either way. `progress(done, total, path)` is called before each file.
    `channels`: 1 reads every file as mono, 2 as left/right (mono files centred), "auto" picks
    stereo when most of the usable seconds are (`report.channels`, `report.channel_choice`).
    """
    folder = Path(folder).expanduser().absolute()  # reports stay valid from any working dir
    if not folder.exists():
        raise DatasetError(f"Folder not found: {folder}; check the path and try again.")
    if not folder.is_dir():
        raise DatasetError(f"{folder} is a file, not a folder: pass the folder that holds it.")
    cache = AudioCache(cache_dir) if use_cache else None
    walk = walk_folder(folder)
    workers = default_scan_workers() if workers is None else max(1, int(workers))
    asked = parse_channels(channels)
    layout = asked if asked != "auto" else _guess_channels(walk.candidates, sample_rate, cache)

    def judge_all(layout: int) -> tuple[list[FileReport], list[str]]:
        return _judge_all(
            walk.candidates, sample_rate, min_seconds, cache, workers, layout, progress
        )

    files, cache_problems = judge_all(layout)
    choice = choose_channels(((f.channels, f.seconds) for f in files if f.usable), asked)
    if choice.channels != layout:  # the headers misled (a silent or broken stereo file)
        files, cache_problems = judge_all(choice.channels)
    notes = list(walk.notes)
    if cache_problems:
        notes.append(
            f"{cache_problems[0]} ({len(cache_problems)} file(s) not cached: they are "
            "decoded again for training)"
        )
    return DatasetReport(
        folder=folder,
        sample_rate=sample_rate,
        min_seconds=min_seconds,
        files=files,
        ignored_hidden=walk.hidden,
        ignored_other=walk.other,
        cache_dir=str(cache.root) if cache else None,
        notes=notes,
        channels=choice.channels,
        channel_choice=choice.line(),
    )


def _guess_channels(paths: list[Path], sample_rate: int, cache: AudioCache | None) -> int:
    """The layout "auto" picks, from facts a scan cached or else the files' headers."""
    known = {}
    for path in paths if cache is not None else ():
        info = cache.get_info(path, sample_rate) or cache.get_info(path, sample_rate, 2)
        if info is not None:
            known[path] = info
    return choose_channels(header_facts(paths, known)).channels


def _judge_all(
    paths: list[Path],
    sample_rate: int,
    min_seconds: float,
    cache: AudioCache | None,
    workers: int,
    channels: int,
    progress: Callable[[int, int, Path], None] | None,
) -> tuple[list[FileReport], list[str]]:
    """A verdict per file (decoding those the cache lacks), and the cache's problems."""
    infos = [cache.get_info(path, sample_rate, channels) if cache else None for path in paths]
    to_decode = [path for path, info in zip(paths, infos, strict=True) if info is None]
    decoded = measure_in_order(to_decode, sample_rate, cache, workers=workers, channels=channels)
    files, cache_problems = [], []
    for index, path in enumerate(paths):
        if progress is not None:
            progress(index, len(paths), path)
        info = infos[index]
        if info is None:
            info, problem = next(decoded)
            if problem:
                cache_problems.append(problem)
        files.append(_judge(path, info, sample_rate, min_seconds, channels))
    return files, cache_problems


@dataclass
class AvailableAudio:
    """The usable files that could still be read for training, their audio, and those lost."""

    entries: list[FileReport]
    # (samples,) float32 each, or (2, samples) in a stereo run (report.channels == 2);
    # memory-mapped when read from the cache
    audio: list[np.ndarray]
    lost: list[FileReport]  # gone or changed into something unusable since the scan; reason set


def load_available_audio(report: DatasetReport, *, mmap: bool = False) -> AvailableAudio:
    """Float32 audio at `report.sample_rate` for every usable file still there, in order: mono
    (samples,), or (2, samples) when the report was scanned for a stereo run (mono files centred:
    left = right).

    Read from the scan's cache (memory-mapped when `mmap`: pages come and go with the batches, so
    memory does not grow with the set); files missing from it are decoded again and cached. A
    file that vanished or turned unusable since the scan is logged and left out; raises
    `DatasetError` only when none is left.
    """
    cache = AudioCache(report.cache_dir) if report.cache_dir is not None else None
    found = AvailableAudio([], [], [])
    rate, channels = report.sample_rate, report.channels
    for entry in report.usable:
        audio = cache.get_audio(entry.path, rate, mmap=mmap, channels=channels) if cache else None
        if audio is None:
            try:
                audio, reason = _decode_again(entry.path, rate, cache, mmap, channels)
            except Exception as error:  # one file must not stop the others from training
                audio, reason = None, f"could not be read ({type(error).__name__}: {error})"
            if audio is None:
                lost = FileReport(entry.path, "skipped", reason=reason, seconds=entry.seconds)
                log.warning("left out %s: %s", entry.path, reason)
                found.lost.append(lost)
                continue
        found.entries.append(entry)
        found.audio.append(audio)
    if not found.entries:
        names = ", ".join(str(entry.path) for entry in found.lost[:3])
        raise DatasetError(
            f"None of the usable files of {report.folder} can be read any more ({names}"
            f"{', ...' if len(found.lost) > 3 else ''}: {found.lost[0].reason}): "
            "scan the folder again."
        )
    return found


def _decode_again(
    path: Path, sample_rate: int, cache: AudioCache | None, mmap: bool, channels: int = 1
) -> tuple[np.ndarray | None, str]:
    """(audio, "") for a file missing from the cache, or (None, why it is no longer usable)."""
    if cache is not None:
        info, problem = measure_into_cache(path, sample_rate, cache, channels)
        audio = cache.get_audio(path, sample_rate, mmap=mmap, channels=channels)
        if audio is not None:
            return audio, ""
        if "error" in info or not problem:  # unreadable or unusable now, not a cache problem
            return None, _unusable_reason(info)
    sink = MemorySink()  # no cache (or a full one): the audio stays in memory
    info, has_audio = measure_file(path, sample_rate, sink, channels=channels)
    if "error" in info or not has_audio:
        return None, _unusable_reason(info)
    return sink.audio(), ""


def _unusable_reason(info: dict) -> str:
    if "error" in info:
        return f"changed or removed since the scan ({info['error']})"
    return "changed since the scan and is now silent or holds NaN samples"


def load_usable_audio(report: DatasetReport, *, mmap: bool = False) -> list[np.ndarray]:
    """Like `load_available_audio`, but strict: every usable file, or `DatasetError` naming the
    first one that changed since the scan."""
    found = load_available_audio(report, mmap=mmap)
    if found.lost:
        first = found.lost[0]
        raise DatasetError(
            f"{first.path} changed since it was scanned and is no longer usable "
            f"({first.reason}): scan the folder again."
        )
    return found.audio
