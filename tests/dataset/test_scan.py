"""Dataset scan: one verdict per file for every kind of bad file, and totals that add up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sda.audio.io import write_audio
from sda.dataset import DatasetError, DatasetReport, load_usable_audio, scan_folder
from sda.errors import SdaError

SR = 48000


def _noise(seconds: float, channels: int = 1, rate: int = SR, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(int(seconds * 1000) + channels)
    return (rng.standard_normal((channels, int(seconds * rate))) * level).astype(np.float32)


def make_messy_folder(folder: Path) -> dict[str, tuple[str, str]]:
    """Every bad-file kind of issue 2 next to good files -> {relative path: (verdict, words)}."""
    good = write_audio(folder / "good.wav", _noise(1.5), SR)
    data = good.read_bytes()
    expected = {"good.wav": ("ok", "")}
    write_audio(folder / "nested" / "deeper" / "song.flac", _noise(2.0), SR)
    expected["nested/deeper/song.flac"] = ("ok", "")
    (folder / "random.wav").write_bytes(os.urandom(5000))
    expected["random.wav"] = ("skipped", "not audio")
    (folder / "zero.wav").write_bytes(b"")
    expected["zero.wav"] = ("skipped", "empty")
    (folder / "header.wav").write_bytes(data[:44])
    expected["header.wav"] = ("skipped", "header only")
    (folder / "notes.wav").write_text("a text file pretending to be audio\n" * 10)
    expected["notes.wav"] = ("skipped", "text file")
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    expected["truncated.wav"] = ("ok", "truncated")
    write_audio(folder / "tiny.wav", _noise(0.01), SR)
    expected["tiny.wav"] = ("ok", "short")
    write_audio(folder / "silent.wav", np.zeros((1, SR), np.float32), SR)
    expected["silent.wav"] = ("skipped", "silent")
    nan = _noise(1.0)
    nan[0, 100] = np.nan
    sf.write(folder / "nan.wav", nan.T, SR, subtype="FLOAT")  # write_audio refuses NaN, rightly
    expected["nan.wav"] = ("skipped", "NaN")
    inf = _noise(1.0)
    inf[0, 5] = np.inf
    sf.write(folder / "inf.wav", inf.T, SR, subtype="FLOAT")
    expected["inf.wav"] = ("skipped", "infinite")
    write_audio(folder / "phone.wav", _noise(1.0, rate=8000), 8000)
    expected["phone.wav"] = ("ok", "resampled")
    write_audio(folder / "surround.wav", _noise(1.0, channels=6), SR)
    expected["surround.wav"] = ("ok", "mixed")
    write_audio(folder / "float.wav", _noise(1.0, level=0.5) * 4, SR, subtype="FLOAT")
    expected["float.wav"] = ("ok", "over full scale")
    write_audio(folder / "clipped.wav", np.clip(_noise(1.0, level=1.0) * 5, -1, 1), SR)
    expected["clipped.wav"] = ("ok", "clipped")
    write_audio(folder / "ünïcødé 音.wav", _noise(1.0), SR)
    expected["ünïcødé 音.wav"] = ("ok", "")
    (folder / "x.wav").mkdir()  # a folder with an audio name: entered, never read as a file
    write_audio(folder / "x.wav" / "inside.ogg", _noise(1.0), SR)
    expected["x.wav/inside.ogg"] = ("ok", "")
    (folder / ".hidden.wav").write_bytes(data)
    (folder / "._resource_fork.wav").write_bytes(b"junk")
    (folder / ".git").mkdir()
    (folder / ".git" / "buried.wav").write_bytes(data)
    (folder / "readme.txt").write_text("hello")
    (folder / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    return expected


@pytest.fixture
def messy(tmp_path):
    folder = tmp_path / "messy"
    expected = make_messy_folder(folder)
    report = scan_folder(folder, cache_dir=tmp_path / "cache")
    return folder, expected, report


def test_every_file_gets_the_expected_verdict(messy):
    folder, expected, report = messy
    got = {entry.path.relative_to(folder).as_posix(): entry for entry in report.files}
    assert sorted(got) == sorted(expected)
    for name, (verdict, words) in expected.items():
        entry = got[name]
        assert entry.verdict == verdict, (name, entry)
        text = entry.reason if verdict == "skipped" else " ".join(entry.flags)
        assert words in text, (name, text)
        if verdict == "skipped":
            assert entry.reason
    assert got["good.wav"].flags == []


def test_hidden_and_non_audio_are_counted_not_listed(messy):
    _, _, report = messy
    assert report.ignored_hidden == 3  # .hidden.wav, ._resource_fork.wav, .git (once)
    assert report.ignored_other == 2
    assert report.ignored == 5


def test_totals(messy):
    _, expected, report = messy
    usable = [name for name, (verdict, _) in expected.items() if verdict == "ok"]
    assert len(report.usable) == len(usable)
    assert len(report.skipped) == len(expected) - len(usable)
    assert report.usable_seconds == pytest.approx(sum(e.seconds for e in report.usable))
    assert report.num_frames() == int(report.usable_seconds * 48000 / 1024)
    assert report.num_frames(frame_rate=10) == int(report.usable_seconds * 10)
    assert "usable" in report.summary()
    report.require_usable()  # does not raise


def test_a_training_run_names_each_skipped_file_and_why(messy):
    """The console lines a run prints: every skipped file by its path in the folder, with the
    reason; past the limit, a count and where to see the rest."""
    folder, expected, report = messy
    skipped = {name: words for name, (verdict, words) in expected.items() if verdict == "skipped"}
    lines = report.warnings(shown=len(skipped))
    for name, words in skipped.items():
        assert any(line.startswith(f"skipped {name}: ") and words in line for line in lines), name
    first = report.warnings(shown=2)
    assert sum(line.startswith("skipped ") for line in first) == 2
    assert first[-1].startswith(f"... and {len(skipped) - 2} more skipped: ")
    assert f"sda data inspect {folder}" in first[-1]


def test_native_facts_are_recorded(messy):
    folder, _, report = messy
    entry = next(e for e in report.files if e.path.name == "surround.wav")
    assert (entry.channels, entry.sample_rate, entry.seconds) == (6, SR, pytest.approx(1.0))
    phone = next(e for e in report.files if e.path.name == "phone.wav")
    assert phone.sample_rate == 8000


def test_usable_audio_is_mono_float32_at_model_rate(messy):
    _, _, report = messy
    arrays = load_usable_audio(report)
    assert len(arrays) == len(report.usable)
    for entry, audio in zip(report.usable, arrays, strict=True):
        assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all()
        assert len(audio) == pytest.approx(entry.seconds * SR, abs=2)


def test_json_round_trip(messy):
    _, _, report = messy
    data = json.loads(report.to_json())
    assert data["totals"]["usable_files"] == len(report.usable)
    again = DatasetReport.from_json(report.to_json())
    assert again.files == report.files and again.folder == report.folder
    assert again.usable_seconds == pytest.approx(report.usable_seconds)


def test_min_seconds_sets_the_short_flag(tmp_path):
    write_audio(tmp_path / "a.wav", _noise(1.5), SR)
    assert scan_folder(tmp_path, use_cache=False).files[0].flags == []
    flagged = scan_folder(tmp_path, min_seconds=2.0, use_cache=False).files[0].flags
    assert flagged and flagged[0].startswith("short")


def test_empty_folder_has_no_usable_audio(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    report = scan_folder(tmp_path, use_cache=False)
    assert report.files == [] and report.ignored_other == 1
    with pytest.raises(DatasetError, match="No audio files found") as caught:
        report.require_usable()
    assert isinstance(caught.value, SdaError)
    assert str(caught.value).count(".") >= 1 and "\n" not in str(caught.value)


def test_only_bad_files_is_one_clear_sentence(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "b.wav").write_text("text")
    report = scan_folder(tmp_path, use_cache=False)
    with pytest.raises(DatasetError, match="None of the 2 audio files") as caught:
        report.require_usable()
    assert "sda data inspect" in str(caught.value)


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        scan_folder(tmp_path / "nope")
    file = write_audio(tmp_path / "a.wav", _noise(0.5), SR)
    with pytest.raises(DatasetError, match="not a folder"):
        scan_folder(file)


def test_progress_callback_sees_every_file(tmp_path):
    for i in range(3):
        write_audio(tmp_path / f"{i}.wav", _noise(0.2), SR)
    seen = []
    scan_folder(
        tmp_path, use_cache=False, progress=lambda done, total, path: seen.append((done, total))
    )
    assert seen == [(0, 3), (1, 3), (2, 3)]
