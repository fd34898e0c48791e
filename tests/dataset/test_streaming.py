"""Long files and big folders: the scan streams (memory independent of a file's length), the
streamed resampler equals the whole-signal one, and clip runs are found across block boundaries."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sda.audio.dsp import resample
from sda.audio.io import AudioBlocks
from sda.audio.stream import StreamResampler
from sda.dataset import AudioCache, scan_folder
from sda.dataset.measure import _ClipCounter, measure_file

SR = 48000


def write_long_recording(path: Path, minutes: float, rate: int = SR, channels: int = 2) -> Path:
    """Noise and a tone written block by block, so the generator stays small whatever the length.

    One block of sound is made once and written at a new level each time (fast to generate)."""
    block = 1 << 16
    tone = 0.2 * np.sin(2 * np.pi * 220 * np.arange(block) / rate)
    sound = tone[:, None] + 0.05 * np.random.default_rng(0).standard_normal((block, channels))
    pcm = (sound * 32767).astype(np.int16)
    total = int(minutes * 60 * rate)
    with sf.SoundFile(path, "w", rate, channels, "PCM_16") as out:
        for number, start in enumerate(range(0, total, block)):
            out.write(pcm[: min(block, total - start)] // (1 + number % 4))
    return path


@pytest.mark.parametrize("rate", [44100, 8000, 50854, 96000, SR])
def test_streamed_resampling_equals_the_whole_signal(rate):
    signal = np.random.default_rng(rate).standard_normal(rate * 2 + 123).astype(np.float32) * 0.1
    whole = resample(signal, rate, SR)
    resampler = StreamResampler.between_rates(rate, SR)
    parts = [resampler.push(signal[i : i + 10007]) for i in range(0, len(signal), 10007)]
    parts.append(resampler.finish(len(whole)))
    streamed = np.concatenate(parts)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-6)


def test_clip_runs_are_counted_across_block_boundaries():
    rng = np.random.default_rng(1)
    audio = rng.uniform(-0.5, 0.5, (2, 5000)).astype(np.float32)
    for start in (97, 1000, 1001, 1002, 2999, 4990):  # runs of 4..7 equal full-scale samples
        audio[0, start : start + 4 + start % 4] = 1.0
    whole = _ClipCounter()
    whole.add(audio)
    assert whole.runs > 0
    for size in (1, 2, 3, 5, 1000, 1001):
        split = _ClipCounter()
        for first in range(0, audio.shape[1], size):
            split.add(audio[:, first : first + size])
        assert split.runs == whole.runs, size


def test_streamed_scan_caches_the_same_audio_as_decoding_whole(tmp_path):
    path = tmp_path / "song.wav"
    audio = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 44100 * 3 + 7)).astype(np.float32)
    sf.write(path, audio.T, 44100, subtype="FLOAT")
    report = scan_folder(tmp_path, cache_dir=tmp_path / "cache")
    (entry,) = report.usable
    assert entry.flags == ["resampled (44100 Hz -> 48000 Hz)", "mixed (2 channels -> mono)"]
    cached = AudioCache(tmp_path / "cache").get_audio(path, SR, mmap=True)
    expected = resample(audio.mean(axis=0, dtype=np.float32), 44100, SR)
    assert isinstance(cached, np.memmap)
    np.testing.assert_allclose(cached, expected, atol=1e-6)


def test_blocks_keep_what_a_damaged_file_holds(tmp_path):
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((SR, 1), np.float32) + 0.1, SR, format="WAV", subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with AudioBlocks(cut, block_frames=1000) as blocks:
        total = sum(block.shape[1] for block in blocks)
    assert blocks.truncated and total == blocks.frames and 0 < total < SR
    facts, has_audio = measure_file(cut, SR)
    assert facts["truncated"] and has_audio


_SCAN_AND_REPORT_PEAK = textwrap.dedent(
    """
    import resource, sys
    from sda.dataset import scan_folder
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = scan_folder(sys.argv[1], cache_dir=sys.argv[2])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(len(report.usable), report.usable_seconds, (after - before) // 1024)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_scanning_a_long_file_keeps_memory_bounded(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    write_long_recording(folder / "field.wav", minutes=20)  # 460 MB once decoded as float32
    result = subprocess.run(
        [sys.executable, "-c", _SCAN_AND_REPORT_PEAK, str(folder), str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    usable, seconds, grown_mb = result.stdout.split()
    assert int(usable) == 1 and float(seconds) == pytest.approx(1200.0)
    assert int(grown_mb) < 80, f"the scan grew by {grown_mb} MB on a 20-minute file"
    cached = AudioCache(tmp_path / "cache").get_audio(folder / "field.wav", SR, mmap=True)
    assert len(cached) == 1200 * SR


def test_a_folder_of_5000_files_scans_in_seconds(tmp_path):
    buffer = io.BytesIO()
    tone = 0.3 * np.sin(np.arange(480) / 5.0)
    sf.write(buffer, tone, SR, format="WAV", subtype="PCM_16")
    data = buffer.getvalue()
    for index in range(5000):
        folder = tmp_path / "hits" / f"kit{index // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"hit{index:04d}.wav").write_bytes(data)
    start = time.perf_counter()
    report = scan_folder(tmp_path / "hits", use_cache=False, min_seconds=0.01)
    elapsed = time.perf_counter() - start
    assert len(report.usable) == 5000 and report.usable_seconds == pytest.approx(50.0)
    assert elapsed < 60, f"5,000 files took {elapsed:.1f} s"


def test_a_symlink_loop_is_noted_not_followed_forever(tmp_path):
    folder = tmp_path / "set"
    (folder / "a" / "b").mkdir(parents=True)
    sf.write(folder / "a" / "b" / "hit.wav", np.full(SR // 10, 0.2), SR)
    (folder / "a" / "b" / "back-up").symlink_to(folder / "a")  # a -> b -> back-up -> a
    (folder / "same-again").symlink_to(folder / "a")
    (folder / "elsewhere").symlink_to(tmp_path / "outside")  # followed: a linked sample folder
    (tmp_path / "outside").mkdir()
    sf.write(tmp_path / "outside" / "pad.wav", np.full(SR // 10, 0.2), SR)
    (folder / "self.wav").symlink_to(folder / "self.wav")  # a file link that loops on itself
    (folder / "gone.wav").symlink_to(tmp_path / "deleted.wav")
    report = scan_folder(folder, use_cache=False, min_seconds=0.05)
    names = sorted(entry.path.name for entry in report.usable)
    assert names == ["hit.wav", "pad.wav"]
    reasons = {entry.path.name: entry.reason for entry in report.skipped}
    assert reasons["self.wav"].startswith("broken link") and "deleted.wav" in reasons["gone.wav"]
    assert len(report.notes) == 2 and all("already" in note for note in report.notes)
    assert any("back-up" in note for note in report.notes)
