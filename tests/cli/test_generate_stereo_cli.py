"""`sda generate STEREO_MODEL`: 2-channel files of the model's own image, width on its own side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from factories import run_cli

from sda.audio.loop_points import LoopPoints, read_loop_points
from sda.audio.stereo_field import measure_width

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sda_generate(capsys, bundle, out: Path, *options) -> tuple[int, str, str]:
    return run_cli(capsys, "generate", str(bundle.path), "-o", out, "--seed", "3", *options)


def test_a_stereo_model_writes_its_own_stereo_takes_and_says_so(
    capsys, tiny_stereo_bundle, tmp_path
):
    code, out, err = sda_generate(capsys, tiny_stereo_bundle, tmp_path, "--seconds", "0.4")
    assert code == 0, err
    audio, rate = sf.read(out.strip(), dtype="float64", always_2d=True)
    assert audio.shape[1] == 2 and rate == 48_000
    assert not np.allclose(audio[:, 0], audio[:, 1], atol=1e-3)  # the model's side, kept
    assert "stereo model" in err and "as generated" in err
    assert f"{Path(out.strip()).name}: mono downmix" in err  # the phase check, per file


@pytest.mark.parametrize("format", ["flac", "ogg", "mp3"])
def test_a_stereo_take_reaches_every_format_in_two_channels(
    capsys, tiny_stereo_bundle, tmp_path, format
):
    code, out, err = sda_generate(
        capsys, tiny_stereo_bundle, tmp_path, "--seconds", "0.4", "--format", format
    )
    assert code == 0, err
    assert Path(out.strip()).suffix == f".{format}" and sf.info(out.strip()).channels == 2


def test_width_scales_the_models_own_side_and_channels_mono_mixes_down(
    capsys, tiny_stereo_bundle, tmp_path
):
    ratios = []
    for width in ("0", "0.25", "0.5"):
        code, out, err = sda_generate(
            capsys, tiny_stereo_bundle, tmp_path / width, "--seconds", "0.4", "--width", width
        )
        assert code == 0, err
        audio, _ = sf.read(out.strip(), dtype="float64", always_2d=True)
        ratios.append(measure_width(audio.T))
    assert ratios[0] < 1e-6 and np.all(np.diff(ratios) > 0), ratios  # 0 = mono, then wider
    code, out, err = sda_generate(
        capsys, tiny_stereo_bundle, tmp_path / "mono", "--seconds", "0.4", "--channels", "mono"
    )
    assert code == 0, err
    assert sf.info(out.strip()).channels == 1 and "mixed down" in err


def test_binaural_places_a_stereo_take_as_a_speaker_pair(capsys, tiny_stereo_bundle, tmp_path):
    code, out, err = sda_generate(
        capsys, tiny_stereo_bundle, tmp_path, "--seconds", "0.4", "--channels", "binaural"
    )
    assert code == 0, err
    audio, _ = sf.read(out.strip(), dtype="float64", always_2d=True)
    assert audio.shape[1] == 2 and np.abs(audio).max() > 0


def test_a_stereo_loop_file_has_two_channels_and_loop_points(capsys, tiny_stereo_bundle, tmp_path):
    code, out, err = sda_generate(
        capsys, tiny_stereo_bundle, tmp_path, "--loop", "--seconds", "0.5", "--temperature", "1.5"
    )
    assert code == 0, err
    audio, _ = sf.read(out.strip(), dtype="float64", always_2d=True)
    assert audio.shape[1] == 2
    assert read_loop_points(Path(out.strip())) == LoopPoints(0, len(audio))


def test_the_help_says_what_width_does_on_a_stereo_model(capsys):
    code, out, _ = run_cli(capsys, "generate", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0
    assert "A stereo model scales its own side" in text
    assert "stereo for a stereo model" in text
