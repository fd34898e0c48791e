"""`sda encode / decode / reconstruct` with a stereo model: files read as stereo, codes with a mid
and a side grid, two-channel output; mono files centred (said so); mono models refuse stereo codes."""

from __future__ import annotations

import factories
import numpy as np
import pytest
from factories import run_cli

from sda.audio.io import load_audio, write_audio
from sda.dna.codes import Codes
from sda.dna.stereo_bridge import decode_stereo, silent_side


@pytest.fixture
def sda(capsys, tiny_library_root):
    def call(*args):
        return run_cli(capsys, *args, "--library", tiny_library_root)

    return call


@pytest.fixture
def stereo_wav(tmp_path):
    path = tmp_path / "in" / "wide.wav"
    path.parent.mkdir()
    write_audio(path, factories.synth_stereo(0.4, seed=7, width=0.8), 48_000, subtype="FLOAT")
    return path


def test_stereo_files_encode_to_two_grids_and_decode_to_two_channels(
    sda, tiny_stereo_bundle, stereo_wav, tmp_path
):
    model = tiny_stereo_bundle.path
    code, out, err = sda("encode", model, stereo_wav, "--out-dir", tmp_path / "codes")
    assert code == 0, err
    codes = Codes.load(tmp_path / "codes" / "wide.sdacodes")
    assert (
        codes.channels == 2 and codes.side_levels == tiny_stereo_bundle.side_levels + 1
    )  # + direction
    assert codes.bundle_id == tiny_stereo_bundle.id and "note:" not in err

    code, _, err = sda(
        "decode", model, codes_path := tmp_path / "codes" / "wide.sdacodes",
        "--out-dir", tmp_path / "dec", "--bit-depth", "32",
    )  # fmt: skip
    assert code == 0, err
    decoded = load_audio(tmp_path / "dec" / "wide.wav", channels=None)
    expected = decode_stereo(tiny_stereo_bundle, Codes.load(codes_path))
    np.testing.assert_allclose(decoded, expected, atol=1e-6)  # both channels, as decoded
    assert np.abs(decoded[0] - decoded[1]).max() > 1e-3  # a real side, not a centred copy

    code, _, err = sda("reconstruct", model, stereo_wav, "--out-dir", tmp_path / "rec")
    assert code == 0, err
    rebuilt = load_audio(tmp_path / "rec" / "wide.wav", channels=None)
    assert rebuilt.shape == load_audio(stereo_wav, channels=None).shape  # 2 channels, same length

    code, _, err = sda(
        "decode", model, codes_path, "--out-dir", tmp_path / "m", "--channels", "mono"
    )
    assert code == 0, err
    assert load_audio(tmp_path / "m" / "wide.wav", channels=None).shape[0] == 1  # asked for


def test_a_mono_file_is_centred_and_said_so(sda, tiny_stereo_bundle, tiny_audio_dir, tmp_path):
    pluck = tiny_audio_dir / "pluck_0.wav"
    code, _, err = sda("encode", tiny_stereo_bundle.path, pluck, "--out-dir", tmp_path)
    assert code == 0, err
    assert "pluck_0.wav is mono; coded as centred stereo" in " ".join(err.split())
    codes = Codes.load(tmp_path / "pluck_0.sdacodes")
    assert codes.channels == 2
    silence = silent_side(tiny_stereo_bundle, codes, codes.side_levels)
    assert np.array_equal(codes.side_indices, silence.indices)  # the side codes silence


def test_more_channels_fold_to_stereo_with_a_note(sda, tiny_stereo_bundle, tmp_path):
    four = np.concatenate([factories.synth_stereo(0.3, seed=1)] * 2)  # (4, samples)
    write_audio(tmp_path / "quad.wav", four, 48_000)
    code, _, err = sda(
        "encode", tiny_stereo_bundle.path, tmp_path / "quad.wav", "--out-dir", tmp_path / "c"
    )
    assert code == 0, err
    assert "quad.wav has 4 channels; folded to stereo" in " ".join(err.split())


def test_a_mono_model_refuses_stereo_codes(
    sda, tiny_bundle, tiny_stereo_bundle, stereo_wav, tmp_path
):
    code, _, err = sda("encode", tiny_stereo_bundle.path, stereo_wav, "--out-dir", tmp_path / "c")
    assert code == 0, err
    code, _, err = sda(
        "decode", "tiny", tmp_path / "c" / "wide.sdacodes", "--out-dir", tmp_path / "d"
    )
    message = " ".join(err.split())
    assert code == 1 and "Traceback" not in err
    assert "they are stereo (a mid and a side grid) and tiny is mono" in message
    assert "use the stereo model that made them" in message
    assert not (tmp_path / "d" / "wide.wav").exists()


def test_a_mono_model_keeps_its_mono_path(sda, tiny_bundle, stereo_wav, tmp_path):
    code, _, err = sda("reconstruct", "tiny", stereo_wav, "--out-dir", tmp_path)
    assert code == 0, err and "note:" not in err
    assert load_audio(tmp_path / "wide.wav", channels=None).shape[0] == 1  # mixed down as today
    code, _, err = sda("encode", "tiny", stereo_wav, "--out-dir", tmp_path / "c")
    assert code == 0 and Codes.load(tmp_path / "c" / "wide.sdacodes").channels == 1
