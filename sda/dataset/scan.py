"""Judge every file of a folder of recordings: usable or skipped (and why), with flags and totals.

A scan never stops on a bad file. Decoded audio (mono, model rate) lands in the `AudioCache`, so
the second scan and every training run read arrays instead of decoding again.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sda.audio.io import AUDIO_EXTENSIONS, AudioFileError, decode_audio
from sda.dataset.cache import AudioCache
from sda.errors import SdaError

FRAME_RATE = 48000 / 1024  # latent frames per second of the default codec (~47)
SILENCE_PEAK = 10 ** (-70 / 20)  # a file whose loudest sample is below -70 dBFS counts as silent
_CLIP_LEVEL = 0.999
_CLIP_RUN = 4  # this many equal samples in a row at full scale look like a flat-topped clip


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


def _measure(path: Path, sample_rate: int) -> tuple[dict, np.ndarray | None]:
    """Decode once; facts about the original file, and mono audio at `sample_rate` if it has any."""
    try:
        decoded = decode_audio(path)
    except AudioFileError as error:
        return {"error": error.reason}, None
    native = decoded.audio  # (channels, samples)
    low, high = float(native.min()), float(native.max())  # NaN or inf shows up in these
    finite = bool(np.isfinite(low) and np.isfinite(high))
    peak = max(high, -low) if finite else 0.0
    clipped_runs = 0
    if finite and peak >= _CLIP_LEVEL:
        at_full_scale = (native >= _CLIP_LEVEL) | (native <= -_CLIP_LEVEL)  # no float temporary
        repeats = at_full_scale[:, 1:] & (native[:, 1:] == native[:, :-1])  # (channels, samples-1)
        if repeats.shape[1] >= _CLIP_RUN - 1 and repeats.any():
            windows = np.lib.stride_tricks.sliding_window_view(repeats, _CLIP_RUN - 1, axis=-1)
            clipped_runs = int(windows.all(axis=-1).sum())
    info = {
        "sample_rate": decoded.sample_rate,
        "channels": decoded.channels,
        "seconds": decoded.seconds,
        "finite": finite,
        "peak": peak,
        "clipped_runs": clipped_runs,
        "truncated": decoded.truncated,
    }
    if not finite or peak < SILENCE_PEAK:
        return info, None
    mono = native.mean(axis=0, dtype=np.float32)  # (samples,)
    if decoded.sample_rate != sample_rate:
        from sda.audio.dsp import resample

        mono = resample(mono, decoded.sample_rate, sample_rate)
    return info, mono


def _judge(path: Path, info: dict, sample_rate: int, min_seconds: float) -> FileReport:
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
    if info["channels"] > 1:
        report.flags.append(f"mixed ({info['channels']} channels -> mono)")
    return report


def _walk(folder: Path) -> tuple[list[Path], int, int]:
    """Audio candidates (sorted), hidden entries, other files. Hidden folders are not entered."""
    candidates: list[Path] = []
    hidden = other = 0
    for root, dirs, names in os.walk(folder, onerror=lambda error: None):
        hidden += sum(name.startswith(".") for name in dirs)
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in names:
            if name.startswith("."):
                hidden += 1
            elif Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                candidates.append(Path(root) / name)
            else:
                other += 1
    return sorted(candidates), hidden, other


def scan_folder(
    folder: str | os.PathLike,
    *,
    sample_rate: int = 48000,
    min_seconds: float = 1.0,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int, Path], None] | None = None,
) -> DatasetReport:
    """Scan `folder` recursively and judge every audio file; never raises for a bad file.

    `min_seconds` is the shortest useful length (one training crop): shorter files are kept,
    flagged and padded. `cache_dir=None` uses the per-user cache; `use_cache=False` turns it off.
    `progress(done, total, path)` is called before each file.
    """
    folder = Path(folder).expanduser().absolute()  # reports stay valid from any working dir
    if not folder.exists():
        raise DatasetError(f"Folder not found: {folder}; check the path and try again.")
    if not folder.is_dir():
        raise DatasetError(f"{folder} is a file, not a folder: pass the folder that holds it.")
    cache = AudioCache(cache_dir) if use_cache else None
    candidates, hidden, other = _walk(folder)
    files = []
    for index, path in enumerate(candidates):
        if progress is not None:
            progress(index, len(candidates), path)
        info = cache.get_info(path, sample_rate) if cache else None
        if info is None:
            try:
                info, mono = _measure(path, sample_rate)
                if cache is not None:
                    cache.put(path, sample_rate, info, mono)
            except Exception as error:  # a scan must survive anything one file can throw
                info = {"error": f"could not be read ({type(error).__name__}: {error})"}
        files.append(_judge(path, info, sample_rate, min_seconds))
    return DatasetReport(
        folder=folder,
        sample_rate=sample_rate,
        min_seconds=min_seconds,
        files=files,
        ignored_hidden=hidden,
        ignored_other=other,
        cache_dir=str(cache.root) if cache else None,
    )


def load_usable_audio(report: DatasetReport, *, mmap: bool = False) -> list[np.ndarray]:
    """Mono float32 (samples,) audio at `report.sample_rate` for every usable file, in order.

    Read from the scan's cache (memory-mapped when `mmap`, so worker processes share pages);
    files missing from it are decoded again and cached.
    """
    cache = AudioCache(report.cache_dir) if report.cache_dir is not None else None
    arrays = []
    for entry in report.usable:
        audio = cache.get_audio(entry.path, report.sample_rate, mmap=mmap) if cache else None
        if audio is None:
            info, audio = _measure(entry.path, report.sample_rate)
            if audio is None:
                raise DatasetError(
                    f"{entry.path} changed since it was scanned and is no longer usable: "
                    "scan the folder again."
                )
            if cache is not None:
                cache.put(entry.path, report.sample_rate, info, audio)
        arrays.append(audio)
    return arrays
