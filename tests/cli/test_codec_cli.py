"""`sda encode / decode / reconstruct` end to end on the tiny trained bundle."""

from __future__ import annotations

import numpy as np
import pytest
from factories import run_cli

from sda.audio.io import load_audio, load_audio_with_rate
from sda.dna.codes import Codes


@pytest.fixture
def sda(capsys, tiny_library_root):
    """`sda(*args)` -> (code, stdout, stderr), with --library pointing at the tiny library."""

    def call(*args, stdin: str = ""):
        return run_cli(capsys, *args, "--library", tiny_library_root, stdin=stdin)

    return call


def _no_traceback(err: str) -> str:
    """Check a user error was reported without a traceback; return it with line wraps undone."""
    assert "Traceback" not in err and "error:" in err
    return " ".join(err.split())


def test_encode_decode_reconstruct_round_trip(sda, tiny_bundle, tiny_audio_dir, tmp_path):
    inputs = sorted(tiny_audio_dir.glob("*.wav"))
    code, out, err = sda("encode", "tiny", *inputs, "--out-dir", tmp_path / "codes")
    assert code == 0, err
    written = sorted((tmp_path / "codes").iterdir())
    assert [p.name for p in written] == [f"{p.stem}.sdacodes" for p in inputs]
    assert out.split() == [str(tmp_path / "codes" / f"{p.stem}.sdacodes") for p in inputs]
    grid = Codes.load(written[0])
    assert grid.bundle_id == tiny_bundle.id and grid.levels == tiny_bundle.codec.config.num_levels
    assert grid.codebook_size == tiny_bundle.codec.config.codebook_size

    code, _, err = sda(
        "decode", "tiny", *written, "--out-dir", tmp_path / "decoded", "--bit-depth", "32"
    )
    assert code == 0, err
    from sda.dna.decode import decode_codes

    for path in written:
        audio, rate = load_audio_with_rate(tmp_path / "decoded" / f"{path.stem}.wav")
        assert rate == 48_000 and audio.shape[0] == 1 and np.isfinite(audio).all()
        expected = decode_codes(tiny_bundle.codec, Codes.load(path))  # the CLI writes exactly this
        np.testing.assert_array_equal(audio[0], expected.astype(np.float32))

    code, _, err = sda(
        "reconstruct", "tiny", *inputs, "--out-dir", tmp_path / "recon", "--levels", "2"
    )
    assert code == 0, err
    for path in inputs:
        original, recon = load_audio(path), load_audio(tmp_path / "recon" / path.name)
        assert recon.shape == original.shape  # named after the input, same length
        assert np.abs(recon).max() > 0


def test_export_options_reach_the_writer(sda, tiny_bundle, tiny_audio_dir, tmp_path):
    source = tiny_audio_dir / "pluck_0.wav"
    args = (
        "--format",
        "flac",
        "--rate",
        "44100",
        "--channels",
        "stereo",
        "--azimuth",
        "30",
        "--lufs",
        "-20",
    )
    code, _, err = sda("reconstruct", tiny_bundle.path, source, "--out-dir", tmp_path, *args)
    assert code == 0, err
    audio, rate = load_audio_with_rate(tmp_path / "pluck_0.flac")
    assert rate == 44_100 and audio.shape[0] == 2
    assert not np.allclose(audio[0], audio[1])  # panned to the right


def test_one_bad_file_is_skipped_and_the_rest_processed(sda, tiny_audio_dir, tmp_path):
    bad = tiny_audio_dir / "broken.wav"
    bad.write_text("this is not audio")
    inputs = [
        tiny_audio_dir / "pluck_0.wav",
        bad,
        tiny_audio_dir / "drone_1.wav",
        tmp_path / "missing.wav",
    ]
    code, out, err = sda("encode", "tiny", *inputs, "--out-dir", tmp_path / "codes")
    assert code == 1
    err = _no_traceback(err)
    assert "broken.wav" in err and "missing.wav" in err and "2 of 4 files failed" in err
    assert sorted(p.name for p in (tmp_path / "codes").iterdir()) == [
        "drone_1.sdacodes",
        "pluck_0.sdacodes",
    ]


def test_codes_from_another_model_and_damaged_codes_are_skipped(sda, tiny_bundle, tmp_path):
    size = tiny_bundle.codec.config.codebook_size
    grid = np.zeros((2, 10), dtype=np.int32)
    Codes(grid, bundle_id="0123456789abcdef", frame_rate=1.0, codebook_size=size).save(
        tmp_path / "other.sdacodes"
    )
    Codes(grid, bundle_id=tiny_bundle.id, frame_rate=1.0, codebook_size=size).save(
        tmp_path / "good.sdacodes"
    )
    (tmp_path / "junk.sdacodes").write_bytes(b"junk")
    files = [tmp_path / n for n in ("other.sdacodes", "good.sdacodes", "junk.sdacodes")]
    code, _, err = sda("decode", "tiny", *files, "--out-dir", tmp_path / "out")
    assert code == 1
    err = _no_traceback(err)
    assert "0123456789abcdef" in err and "junk.sdacodes" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.wav"]


def test_user_errors_are_one_clear_message(sda, tiny_audio_dir, tmp_path):
    source = tiny_audio_dir / "pluck_0.wav"
    cases = [
        (("encode", "tinny", source), 'Did you mean "tiny"'),
        (("reconstruct", "tiny", source, "--levels", "9"), "--levels must be between 1 and 4"),
        (
            ("reconstruct", "tiny", source, "--format", "mp3", "--rate", "96000"),
            "cannot be written at 96000",
        ),
        (("reconstruct", "tiny", source, "--format", "aiff"), "unknown --format"),
        (
            (
                "reconstruct",
                "tiny",
                source,
                source,
            ),
            "would both be written",
        ),
        (("encode", tmp_path / "no-bundle-here", source), "does not exist"),
    ]
    for args, message in cases:
        code, _, err = sda(*args, "--out-dir", tmp_path / "out")
        assert code == 1, args
        assert message in _no_traceback(err), (args, err)
    code, _, err = sda("reconstruct", "tiny", source, "--out-dir", tiny_audio_dir)
    assert code == 1 and "overwritten by its own output" in _no_traceback(err)


def test_existing_outputs_need_overwrite(sda, tiny_audio_dir, tmp_path):
    source = tiny_audio_dir / "pluck_0.wav"
    assert sda("encode", "tiny", source, "--out-dir", tmp_path)[0] == 0
    code, _, err = sda("encode", "tiny", source, "--out-dir", tmp_path)
    assert code == 1 and "--overwrite" in _no_traceback(err)
    assert sda("encode", "tiny", source, "--out-dir", tmp_path, "--overwrite")[0] == 0


def test_every_command_has_an_example_and_its_options_in_its_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    render = ("--format", "--rate", "--bit-depth", "--channels", "--azimuth", "--lufs")
    expected = {
        "encode": ("model", "inputs", "--out-dir", "--library", "--device", "--overwrite"),
        "decode": ("model", "codes", "--out-dir", "--levels", *render, "--overwrite"),
        "reconstruct": ("model", "inputs", "--out-dir", "--levels", *render, "--overwrite"),
    }
    for command, words in expected.items():
        code, out, _ = run_cli(capsys, command, "--help")
        said = " ".join(out.split())
        assert code == 0 and "Example: sda " + command in said, command
        missing = [word for word in words if word not in said]
        assert not missing, f"sda {command} --help does not list {missing}"


def test_decode_reads_an_explorer_session_file(sda, tiny_bundle, tmp_path):
    from sda.dna.session import Session

    size = tiny_bundle.codec.config.codebook_size
    grid = np.ones((2, 10), dtype=np.int32)
    session = Session()
    session.add_source(
        "A", Codes(grid, bundle_id=tiny_bundle.id, frame_rate=1.0, codebook_size=size)
    )
    path = session.save(tmp_path / "edit.sdasession")
    code, _, err = sda("decode", "tiny", path, "--out-dir", tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out" / "edit.wav").is_file()
