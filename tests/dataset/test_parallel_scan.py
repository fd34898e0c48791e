"""A scan that decodes several files at once reports exactly what a serial scan does, in the same
order, and caches the same audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sda.dataset import AudioCache, scan_folder


def write_mixed_folder(folder: Path) -> list[str]:
    """Good, resampled, stereo, short, silent, NaN and unreadable files, some in a subfolder."""
    rng = np.random.default_rng(0)
    (folder / "takes").mkdir(parents=True)
    sounds = {
        "kick.wav": (48000, 0.3 * rng.standard_normal(48000)),
        "pad-44k.flac": (44100, 0.2 * rng.standard_normal((70000, 2))),
        "takes/long.wav": (48000, 0.1 * rng.standard_normal((200_000, 2))),
        "takes/blip.wav": (22050, 0.5 * rng.standard_normal(3000)),
        "silence.wav": (48000, np.zeros(48000)),
        "clipped.wav": (48000, np.clip(2 * rng.standard_normal(48000), -1, 1)),
    }
    for name, (rate, audio) in sounds.items():
        sf.write(folder / name, audio.astype(np.float32), rate)
    broken = np.full(4800, np.nan, dtype=np.float32)
    sf.write(folder / "takes" / "nan.wav", broken, 48000, subtype="FLOAT")
    (folder / "not-audio.wav").write_bytes(b"RIFF this is no wave file at all")
    return [*sounds, "takes/nan.wav", "not-audio.wav"]


def scanned(folder: Path, cache: Path, workers: int) -> tuple[dict, list[str]]:
    calls: list[str] = []
    report = scan_folder(
        folder,
        cache_dir=cache,
        workers=workers,
        progress=lambda done, total, path: calls.append(f"{done}/{total} {path.name}"),
    )
    facts = report.to_dict()
    facts.pop("cache_dir")
    return facts, calls


@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_scan_reports_what_a_serial_scan_does(tmp_path: Path, workers: int) -> None:
    folder = tmp_path / "sounds"
    names = write_mixed_folder(folder)
    serial, serial_calls = scanned(folder, tmp_path / "serial-cache", workers=1)
    parallel, parallel_calls = scanned(folder, tmp_path / "parallel-cache", workers=workers)
    assert parallel == serial
    assert parallel_calls == serial_calls and len(serial_calls) == len(names)
    verdicts = {Path(entry["path"]).name: entry["verdict"] for entry in serial["files"]}
    assert verdicts["silence.wav"] == verdicts["nan.wav"] == verdicts["not-audio.wav"] == "skipped"
    assert verdicts["pad-44k.flac"] == verdicts["long.wav"] == "ok"
    # the same audio lands in both caches, file by file
    serial_cache, parallel_cache = (
        AudioCache(tmp_path / "serial-cache"),
        AudioCache(tmp_path / "parallel-cache"),
    )
    for entry in serial["files"]:
        first = serial_cache.get_audio(entry["path"], 48000)
        second = parallel_cache.get_audio(entry["path"], 48000)
        assert (first is None) == (second is None) == (entry["verdict"] != "ok")
        if first is not None:
            np.testing.assert_array_equal(first, second)
    # a second parallel scan reads everything from the cache and still says the same
    again, again_calls = scanned(folder, tmp_path / "parallel-cache", workers=workers)
    assert again == serial and again_calls == serial_calls
