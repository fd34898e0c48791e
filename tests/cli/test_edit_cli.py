"""`sda edit swap/blend/morph/regen` and `sda dna stats` on the tiny bundle, through Typer."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from sda.cli import app
from sda.cli.options import CommandError
from sda.dna import codec_bridge, edit
from sda.dna.codes import Codes, CodesError
from sda.errors import SdaError

runner = CliRunner()


@pytest.fixture
def sda_run(tiny_library_root):
    """Run `sda ARGS... --library <tiny library>`; user errors come back as the exception."""

    def run(*args: str, library: bool = True):
        extra = ["--library", str(tiny_library_root)] if library else []
        return runner.invoke(app, [*map(str, args), *extra])

    return run


def test_swap_audio_inputs_to_codes(sda_run, tiny_bundle, tiny_audio_dir, tmp_path):
    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    out = tmp_path / "hybrid.sdacodes"
    result = sda_run(
        "edit", "swap", pluck, drone, "--levels", "0:2", "--model", "tiny", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    a = codec_bridge.encode_file(tiny_bundle, pluck)
    b = codec_bridge.encode_file(tiny_bundle, drone)
    expected = edit.swap_levels(a, b, slice(0, 2))
    assert np.array_equal(Codes.load(out).indices, expected.indices)
    # all levels from A gives A back exactly, also from a codes-file input
    again = tmp_path / "all.sdacodes"
    result = sda_run("edit", "swap", out, drone, "-l", "0:", "-m", "tiny", "-o", again)
    assert result.exit_code == 0, result.output
    assert np.array_equal(Codes.load(again).indices, expected.indices)


def test_blend_ends_and_audio_output(sda_run, tiny_bundle, tiny_audio_dir, tmp_path):
    from sda.audio.io import load_audio

    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    for alpha, source in (("0", pluck), ("1", drone)):
        out = tmp_path / f"blend{alpha}.sdacodes"
        result = sda_run("edit", "blend", pluck, drone, "--alpha", alpha, "-m", "tiny", "-o", out)
        assert result.exit_code == 0, result.output
        assert np.array_equal(
            Codes.load(out).indices, codec_bridge.encode_file(tiny_bundle, source).indices
        )
    wav = tmp_path / "half.wav"
    result = sda_run("edit", "blend", pluck, drone, "--alpha", "0.5", "-m", "tiny", "-o", wav)
    assert result.exit_code == 0, result.output
    assert load_audio(wav).shape[1] > 0


def test_morph_both_modes(sda_run, tiny_audio_dir, tmp_path):
    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    for mode in ("levels", "latent"):
        out = tmp_path / f"{mode}.sdacodes"
        result = sda_run(
            "edit", "morph", pluck, drone, "--mode", mode, "--frames", "2:", "-m", "tiny", "-o", out
        )
        assert result.exit_code == 0, result.output
        morphed = Codes.load(out)
        assert morphed.provenance["operations"][-1]["start"] == 2


def test_regen_rewrites_only_the_region(sda_run, tiny_prior_bundle, tiny_audio_dir, tmp_path):
    pytest.importorskip("sda.generate", reason="needs sda.generate.regenerate_region")
    from sda import generate

    if not hasattr(generate, "regenerate_region"):
        pytest.skip("sda.generate.regenerate_region is not there yet")
    pluck = sorted(tiny_audio_dir.glob("*.wav"))[0]
    out = tmp_path / "regen.sdacodes"
    result = sda_run(
        "edit", "regen", pluck, "--frames", "20:60", "--seed", "1", "-m", "tiny-prior", "-o", out
    )
    assert result.exit_code == 0, result.output
    original = codec_bridge.encode_file(tiny_prior_bundle, pluck)
    regenerated = Codes.load(out)
    assert np.array_equal(regenerated.indices[:, :20], original.indices[:, :20])
    assert np.array_equal(regenerated.indices[:, 60:], original.indices[:, 60:])


@pytest.mark.parametrize(
    ("args", "message", "kind"),
    [
        (["swap", "A", "B", "--levels", "0:9"], "level range 0:9 is out of range", CodesError),
        (["swap", "A", "B", "--levels", "zero:two"], "not a range like 0:2", CommandError),
        (["blend", "A", "B", "--alpha", "1.5"], "alpha must lie between 0", CodesError),
        (["morph", "A", "B", "--frames", "5:500"], "morph range 5:500 is out", CodesError),
        (["morph", "A", "B", "--mode", "sideways"], "unknown morph mode", CommandError),
    ],
)
def test_bad_input_is_one_clear_error(sda_run, tiny_audio_dir, tmp_path, args, message, kind):
    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    args = [pluck if a == "A" else drone if a == "B" else a for a in args]
    result = sda_run("edit", *args, "-m", "tiny", "-o", tmp_path / "x.sdacodes")
    # an option the CLI cannot parse is a CommandError; a refused edit keeps the dna layer's error
    assert isinstance(result.exception, kind), result.output
    assert message in str(result.exception)
    assert not (tmp_path / "x.sdacodes").exists()


def test_codes_from_another_bundle_are_refused(sda_run, tiny_bundle, tiny_audio_dir, tmp_path):
    pluck = sorted(tiny_audio_dir.glob("*.wav"))[0]
    mine = codec_bridge.encode_file(tiny_bundle, pluck)
    foreign = Codes(
        indices=mine.indices,
        bundle_id="ffffffffffffffff",
        frame_rate=mine.frame_rate,
        codebook_size=mine.codebook_size,
    ).save(tmp_path / "foreign.sdacodes")
    result = sda_run("edit", "blend", foreign, pluck, "-m", "tiny", "-o", tmp_path / "x.wav")
    assert isinstance(result.exception, SdaError)
    assert "made by model ffffffffffffffff" in str(result.exception)


def test_existing_output_needs_overwrite(sda_run, tiny_audio_dir, tmp_path):
    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    out = tmp_path / "o.sdacodes"
    args = ["edit", "swap", pluck, drone, "-l", "0", "-m", "tiny", "-o", out]
    assert sda_run(*args).exit_code == 0
    assert "already exists" in str(sda_run(*args).exception)
    assert sda_run(*args, "--overwrite").exit_code == 0


def test_dna_stats_tables(sda_run, tiny_bundle, tiny_audio_dir, tmp_path):
    files = sorted(tiny_audio_dir.glob("*.wav"))
    codes_file = codec_bridge.encode_file(tiny_bundle, files[0]).save(tmp_path / "p.sdacodes")
    result = sda_run("dna", "stats", "tiny", *files[1:], codes_file, "--top", "2")
    assert result.exit_code == 0, result.output
    for title in ("code usage per level", "signature codes", "similarity", "codes by sound"):
        assert title in result.output
    assert "p.sdacodes" in result.output
    bare = sda_run("dna", "stats", "tiny")
    assert bare.exit_code == 0 and "pass audio" in bare.output
