"""`sda generate --loop / --bars --bpm / --width / --movement` on the tiny real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from factories import run_cli

from sda.audio.loop_points import LoopPoints, read_loop_points
from sda.audio.seam import measure_seam
from sda.audio.stereo_field import describe_movement, describe_width, measure_width

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sda_generate(capsys, library: Path, out: Path, *options) -> tuple[int, str, str]:
    return run_cli(capsys, "generate", "tiny-prior", "--library", library, "-o", out, *options)


def test_a_loop_file_loops_and_says_so(capsys, tiny_library_root, tmp_path):
    code, out, err = sda_generate(
        capsys, tiny_library_root, tmp_path, "--loop", "--seconds", "0.5", "--seed", "1",
        "--temperature", "1.5",
    )  # fmt: skip
    assert code == 0, err
    path = Path(out.strip())
    audio, rate = sf.read(path, dtype="float64")
    assert read_loop_points(path) == LoopPoints(0, len(audio))  # the WAV's smpl chunk
    assert measure_seam(audio, rate).passed
    assert f"loop: {len(audio) / rate:.3f} s ({len(audio)} samples)" in err  # whole frames
    assert f"{path.name}: seam smooth" in err


def test_a_tempo_fitted_loop_is_exact_at_the_export_rate(capsys, tiny_library_root, tmp_path):
    options = ["--loop", "--bars", "1", "--bpm", "333", "--beats-per-bar", "3", "--rate", "44100"]
    code, out, err = sda_generate(
        capsys, tiny_library_root, tmp_path, *options, "--width", "0.5", "--format", "flac"
    )
    assert code == 0, err
    path = Path(out.strip())
    samples = round(3 * 60 / 333 * 44_100)
    audio, rate = sf.read(path, dtype="float64")
    assert rate == 44_100 and audio.shape == (samples, 2)
    assert read_loop_points(path) == LoopPoints(0, samples)  # LOOPSTART / LOOPLENGTH tags
    assert "loop: 1 bar of 3 beats at 333 bpm" in err
    assert describe_width(0.5) in err and "movement 0 = static" in err


def test_bars_at_a_tempo_without_loop_make_an_exact_one_shot(capsys, tiny_library_root, tmp_path):
    code, out, err = sda_generate(
        capsys, tiny_library_root, tmp_path, "--bars", "1", "--bpm", "200"
    )
    assert code == 0, err
    path = Path(out.strip())
    assert sf.info(path).frames == round(4 * 60 / 200 * 48_000)
    assert read_loop_points(path) is None and "length: 1 bar at 200 bpm" in err


def test_width_widens_the_written_file(capsys, tiny_library_root, tmp_path):
    ratios = []
    for width in ("0.2", "0.6", "1"):
        out_dir = tmp_path / width
        code, out, err = sda_generate(
            capsys, tiny_library_root, out_dir, "--seconds", "0.4", "--width", width
        )
        assert code == 0, err
        audio, _ = sf.read(out.strip(), dtype="float64")
        ratios.append(measure_width(audio.T))
    assert np.all(np.diff(ratios) > 0), ratios
    code, out, _ = sda_generate(capsys, tiny_library_root, tmp_path / "m", "--movement", "0.5")
    assert code == 0 and sf.info(out.strip()).channels == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--loop", "--seconds", "1", "--bars", "2", "--bpm", "120"], "not both"),
        (["--loop", "--bars", "2", "--bpm", "0"], "--bpm 0.0 is not a usable tempo"),
        (["--loop", "--bars", "2", "--bpm", "9000"], "--bpm 9000.0 is not a usable tempo"),
        (["--loop", "--bars", "0", "--bpm", "120"], "--bars must be more than 0"),
        (["--loop", "--seconds", "0.05"], "shorter than this model's shortest loop"),
        (["--loop"], "A loop needs a length"),
        (["--bars", "2"], "--bars needs --bpm too"),
        (["--width", "1.5"], "Stereo width 1.5 is out of range"),
        (["--movement", "-1"], "Stereo movement -1.0 is out of range"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_loop_and_stereo_options_get_one_message(
    capsys, tiny_library_root, tmp_path, options, message
):
    code, out, err = sda_generate(capsys, tiny_library_root, tmp_path / "out", *options)
    assert code == 1 and out == ""
    assert err.startswith("error:") and "Traceback" not in err
    assert message in " ".join(err.split())
    assert not list((tmp_path / "out").glob("*.wav"))


def test_a_loop_cannot_continue_a_prompt(capsys, tiny_library_root, tmp_path):
    prompt = tmp_path / "prompt.sdacodes"
    prompt.write_bytes(b"")
    options = ["--loop", "--seconds", "1", "--prompt", prompt]
    code, _, err = sda_generate(capsys, tiny_library_root, tmp_path / "out", *options)
    assert code == 1 and "drop --prompt or --loop" in err


def test_the_help_shows_the_physical_values(capsys):
    code, out, _ = run_cli(capsys, "generate", "--help")
    text = " ".join(out.replace("│", " ").split())  # rich's boxes wrap the help
    assert code == 0
    assert describe_width(0.5) in text and describe_width(1.0).split(" (")[0] in text
    assert describe_movement(1.0).split(",")[0].replace("L/R level swings", "") in text
