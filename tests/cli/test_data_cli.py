"""`sda data inspect`: a table of verdicts, exit 0 with usable audio, one sentence and exit 1 without."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from sda.audio.io import write_audio
from sda.cli import app
from sda.dataset import DatasetError

SR = 48000
runner = CliRunner()


def _mixed_folder(folder: Path) -> Path:
    noise = (np.random.default_rng(0).standard_normal((1, SR)) * 0.1).astype(np.float32)
    write_audio(folder / "good.wav", noise, SR)
    write_audio(folder / "sub" / "ünïcødé.flac", noise, SR)
    write_audio(folder / "phone.wav", noise[:, :8000], 8000)
    write_audio(folder / "blip.wav", noise[:, :480], SR)
    write_audio(folder / "silent.wav", noise * 0, SR)
    nan = noise.copy()
    nan[0, 3] = np.nan
    sf.write(folder / "nan.wav", nan.T, SR, subtype="FLOAT")
    (folder / "random.wav").write_bytes(os.urandom(3000))
    (folder / "zero.wav").write_bytes(b"")
    (folder / "text.wav").write_text("not audio\n" * 30)
    (folder / "dir.wav").mkdir()
    (folder / ".hidden.wav").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    return folder


def test_inspect_lists_every_file_and_exits_zero(tmp_path):
    folder = _mixed_folder(tmp_path / "mixed")
    args = ["data", "inspect", str(folder), "--cache-dir", str(tmp_path / "c")]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for name in ("good.wav", "ünïcødé.flac", "phone.wav", "blip.wav", "silent.wav", "nan.wav",
                 "random.wav", "zero.wav", "text.wav"):  # fmt: skip
        assert name in text
    for words in ("resampled", "short", "silent", "NaN", "not audio", "empty", "text file"):
        assert words in text
    assert "4 usable of 9 audio files" in text and "(1 hidden, 1 not audio)" in text


def test_inspect_writes_json(tmp_path):
    folder = _mixed_folder(tmp_path / "mixed")
    out = tmp_path / "report.json"
    args = ["data", "inspect", str(folder), "--cache-dir", str(tmp_path / "c"), "--json", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    assert '"usable_files": 4' in out.read_text(encoding="utf-8")


def test_inspect_ends_with_a_verdict_for_the_set(tmp_path):
    folder = _mixed_folder(tmp_path / "mixed")  # 4 usable: 3 s, at 48 and 8 kHz
    args = ["data", "inspect", str(folder), "--cache-dir", str(tmp_path / "c")]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "The set: 4 usable files, 3.0 s: 4 one-shots under 4 s (3.0 s); 4 mono; " in text
    assert "48 kHz (3), 8 kHz (1)." in text
    assert "codec: too little — only 3.0 s of one-shots" in text
    assert "prior: too little — 3.0 s of one-shots: expect near copies of your material; " in text
    assert "add ~5 more minutes for variety" in text


def test_inspect_empty_folder_is_a_user_error(tmp_path):
    result = runner.invoke(
        app, ["data", "inspect", str(tmp_path), "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, DatasetError)  # main() prints it as one line


def test_help_has_an_example_and_the_options():
    result = runner.invoke(app, ["data", "inspect", "--help"], env={"COLUMNS": "200"})
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "Example: sda data inspect" in said
    for word in ("folder", "--cache-dir", "--sample-rate", "--min-seconds", "--json"):
        assert word in said, word


@pytest.fixture
def sda_executable() -> Path:
    path = Path(sys.executable).parent / "sda"
    if not path.exists():
        pytest.skip("the sda console script is not installed in this environment")
    return path


def test_real_command_never_shows_a_traceback(tmp_path, sda_executable):
    folder = _mixed_folder(tmp_path / "mixed")
    env = {**os.environ, "COLUMNS": "160"}
    cache = ["--cache-dir", str(tmp_path / "c")]
    ok = subprocess.run(
        [sda_executable, "data", "inspect", str(folder), *cache],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "Traceback" not in ok.stdout + ok.stderr and "random.wav" in ok.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run(
        [sda_executable, "data", "inspect", str(empty), *cache],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "Traceback" not in bad.stdout + bad.stderr
    # One sentence (Rich may wrap it at the terminal width).
    message = " ".join(bad.stderr.split())
    assert message.startswith("error: No audio files found") and message.count("error:") == 1


def test_inspect_reports_the_cache_size(tmp_path):
    folder = _mixed_folder(tmp_path / "mixed")
    args = ["data", "inspect", str(folder), "--cache-dir", str(tmp_path / "c")]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    text = " ".join(result.output.split())
    # 3 s + 480 samples of mono float32 at 48 kHz, and 4 headers of 128 bytes
    assert "Cache: 578.4 kB of decoded audio for this folder" in text, text
    assert "sda data cache --clean" in text


def test_cache_command_reports_then_cleans_only_cache_files(tmp_path):
    folder = _mixed_folder(tmp_path / "mixed")
    cache = tmp_path / "c"
    assert (
        runner.invoke(app, ["data", "inspect", str(folder), "--cache-dir", str(cache)]).exit_code
        == 0
    )
    codes = cache / "prior-codes"
    codes.mkdir()
    (codes / "abc.npz").write_bytes(b"x" * 1000)
    (codes / ".abc.npz.77.tmp.npz").write_bytes(b"x" * 500)  # a crash mid-write
    (codes / "notes.txt").write_text("not ours")
    shown = runner.invoke(app, ["data", "cache", "--cache-dir", str(cache)], env={"COLUMNS": "300"})
    said = " ".join(shown.output.split())
    assert shown.exit_code == 0
    assert "prior codes: holds 1 files + 1 leftovers of interrupted writes, 1.5 kB" in said
    assert "decoded audio: holds" in said and "in all: `sda data cache --clean` frees it" in said
    cleaned = runner.invoke(
        app, ["data", "cache", "--cache-dir", str(cache), "--clean"], env={"COLUMNS": "300"}
    )
    said = " ".join(cleaned.output.split())
    assert cleaned.exit_code == 0 and "Freed" in said and "removed" in said
    assert [p.name for p in cache.rglob("*") if p.is_file()] == ["notes.txt"]
    again = runner.invoke(app, ["data", "inspect", str(folder), "--cache-dir", str(cache)])
    assert again.exit_code == 0  # a cleaned cache is rebuilt


def test_cache_dir_that_is_a_file_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["data", "cache", "--cache-dir", str(blocker)])
    assert result.exit_code == 1
    assert isinstance(result.exception, DatasetError) and "not a folder" in str(result.exception)


def test_a_big_folder_lists_only_files_with_something_to_say(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    hit = (np.random.default_rng(0).standard_normal((1, SR // 20)) * 0.1).astype(np.float32)
    for index in range(210):
        sf.write(folder / f"hit{index:03d}.wav", hit.T, SR)
    (folder / "broken.wav").write_bytes(b"")
    (folder / "loop").symlink_to(folder)
    args = [
        "data",
        "inspect",
        str(folder),
        "--min-seconds",
        "0.01",
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "broken.wav" in text and "hit007.wav" not in text
    assert "210 more files are ok with nothing to note" in text
    assert "note: not entered" in text and "symlink loop" in text


def test_inspect_says_which_layout_training_picks_and_how_each_file_is_read(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "stereo"
    write_audio(
        folder / "room.wav", (rng.standard_normal((2, 3 * SR)) * 0.1).astype(np.float32), SR
    )
    write_audio(folder / "close.wav", (rng.standard_normal((1, SR)) * 0.1).astype(np.float32), SR)
    write_audio(
        folder / "surround.wav", (rng.standard_normal((6, SR)) * 0.1).astype(np.float32), SR
    )
    base = ["data", "inspect", str(folder), "--cache-dir", str(tmp_path / "c")]
    result = runner.invoke(app, base, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Channels: stereo (auto: 80 % of the usable audio, by seconds, is stereo); " in text
    assert "model.channels=1 trains a mono model instead." in text
    assert "mono -> centred stereo" in text and "6 channels -> stereo" in text
    forced = runner.invoke(app, [*base, "--channels", "1"], env={"COLUMNS": "200"})
    said = " ".join(forced.output.split())
    assert "mixed (6 channels -> mono)" in said and "Channels: mono (model.channels=1;" in said
    wrong = runner.invoke(app, [*base, "--channels", "3"])
    assert wrong.exit_code == 1 and "use auto, 1 (mono) or 2 (stereo)" in str(wrong.exception)
