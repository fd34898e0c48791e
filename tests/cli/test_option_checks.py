"""Options checked before any work: an --out-dir that is a file, a --sample-rate of 0, a demo
budget of 0 minutes; each one red line naming the option, exit code 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_cli


def one_error(err: str) -> str:
    """The error, checked to be a single line with no traceback."""
    assert "Traceback" not in err and err.startswith("error:"), err
    return " ".join(err.split())


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "takes"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("rate", ["0", "-48000", "1000000"])
def test_inspect_refuses_a_sample_rate_that_is_not_one(capsys, tiny_audio_dir, rate) -> None:
    code, out, err = run_cli(capsys, "data", "inspect", tiny_audio_dir, "--sample-rate", rate)
    assert code == 1 and out == ""  # before any file is read (0 used to call them all unreadable)
    assert f"--sample-rate {rate} is not a sample rate" in one_error(err)
    assert "from 8000 to 192000" in err


@pytest.mark.parametrize(
    "command",
    [
        ["encode", "tiny", "kick.wav"],
        ["decode", "tiny", "kick.sdacodes"],
        ["reconstruct", "tiny", "kick.wav"],
        ["generate", "tiny"],
        ["demo"],
    ],
    ids=lambda command: command[0],
)
def test_an_out_dir_that_is_a_file_is_refused_first(capsys, a_file, command) -> None:
    code, _, err = run_cli(capsys, *command, "--out-dir", a_file)
    assert code == 1
    assert f"--out-dir {a_file} is a file, not a folder" in one_error(err)


def test_an_out_dir_inside_a_file_is_refused(capsys, a_file) -> None:
    code, _, err = run_cli(capsys, "encode", "tiny", "kick.wav", "--out-dir", a_file / "sub")
    assert code == 1 and f"is inside {a_file}, which is a file" in one_error(err)


def test_demo_refuses_a_budget_of_no_minutes(capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "demo", "--out-dir", tmp_path / "demo", "--minutes", "0")
    assert code == 1 and "--minutes 0 is not allowed" in one_error(err)
    assert not (tmp_path / "demo").exists()
