"""`sda edit` with stereo sounds: `--target mid|side|both`, `swap-side` (A in B's room), and the
one refusal a mono model gives a side edit; `sda dna stats` over both grids. Through Typer on the
tiny stereo bundle."""

from __future__ import annotations

import factories
import numpy as np
import pytest
from typer.testing import CliRunner

from sda.audio.io import load_audio
from sda.cli import app
from sda.dna.codes import Codes, CodesError
from sda.dna.stereo_bridge import encode_stereo

runner = CliRunner()


@pytest.fixture
def sda_run(tiny_library_root):
    def run(*args):
        return runner.invoke(app, [*map(str, args), "--library", str(tiny_library_root)])

    return run


def wide_sound(seconds: float, seed: int) -> np.ndarray:
    """(2, samples): a pluck left, noise right; a side the tiny codec codes in many ways (its
    side grids of gently panned tones are one code)."""
    pluck = factories.synth_sound("pluck", seconds=seconds, seed=seed)
    noise = 0.2 * np.random.default_rng(seed).standard_normal(pluck.size)
    return np.stack([pluck, noise]).astype(np.float32)


@pytest.fixture
def pair(tiny_stereo_bundle, tmp_path):
    """Two stereo sounds' codes files (A: 0.5 s, B: 0.6 s)."""
    paths = []
    for name, seed, seconds in (("a", 1, 0.5), ("b", 2, 0.6)):
        codes = encode_stereo(tiny_stereo_bundle, wide_sound(seconds, seed), source=f"{name}.wav")
        paths.append(codes.save(tmp_path / f"{name}.sdacodes"))
    return paths


def _edit(sda_run, bundle, *args, out):
    result = sda_run("edit", *args, "-m", bundle.path, "-o", out)
    assert result.exit_code == 0, result.output
    return Codes.load(out)


def test_swap_targets_one_grid_or_both(sda_run, tiny_stereo_bundle, pair, tmp_path):
    a, b = (Codes.load(p) for p in pair)
    assert not np.array_equal(a.side_indices, b.side_indices[:, : a.frames])  # tells them apart
    side = _edit(
        sda_run, tiny_stereo_bundle, "swap", *pair, "-l", "0", "--target", "side",
        out=tmp_path / "side.sdacodes",
    )  # fmt: skip
    assert np.array_equal(side.indices, a.indices)  # the mid untouched
    assert np.array_equal(side.side_indices[0], a.side_indices[0])
    assert np.array_equal(side.side_indices[1], b.side_indices[1, : a.frames])
    assert side.provenance["operations"][-1]["grid"] == "side"

    both = _edit(
        sda_run, tiny_stereo_bundle, "swap", *pair, "-l", "2:4", out=tmp_path / "both.sdacodes"
    )  # stereo pair, no --target: both grids; the side's rows 0-1 are its two levels, row 2
    # its direction row: of A's rows 2:4 it has that one (a row like any other to an edit)
    assert np.array_equal(both.indices[:2], b.indices[:2, : a.frames])
    assert np.array_equal(both.indices[2:], a.indices[2:])
    assert np.array_equal(both.side_indices[:2], b.side_indices[:2, : a.frames])
    assert np.array_equal(both.side_indices[2], a.side_indices[2])


def test_blend_of_the_mid_keeps_as_side(sda_run, tiny_stereo_bundle, pair, tmp_path):
    a = Codes.load(pair[0])
    mid = _edit(
        sda_run, tiny_stereo_bundle, "blend", *pair, "--alpha", "1", "--target", "mid",
        out=tmp_path / "mid.sdacodes",
    )  # fmt: skip
    assert np.array_equal(mid.side_indices, a.side_indices)  # not pulled towards B's room
    assert np.array_equal(mid.indices, Codes.load(pair[1]).indices[:, : a.frames])
    morph = _edit(
        sda_run, tiny_stereo_bundle, "morph", *pair, "--target", "side", "--frames", "2:10",
        out=tmp_path / "morph.sdacodes",
    )  # fmt: skip
    assert np.array_equal(morph.indices, a.indices)
    assert not np.array_equal(morph.side_indices, a.side_indices)


def test_swap_side_puts_a_in_bs_room(sda_run, tiny_stereo_bundle, pair, tmp_path):
    a, b = (Codes.load(p) for p in pair)
    room = _edit(sda_run, tiny_stereo_bundle, "swap-side", *pair, out=tmp_path / "room.sdacodes")
    assert np.array_equal(room.indices, a.indices)
    assert np.array_equal(room.side_indices, b.side_indices[:, : a.frames])
    assert room.provenance["operations"][-1]["op"] == "swap_side"
    result = sda_run(
        "edit", "swap-side", *pair, "-m", tiny_stereo_bundle.path, "-o", tmp_path / "room.wav"
    )
    assert result.exit_code == 0, result.output
    assert load_audio(tmp_path / "room.wav", channels=None).shape[0] == 2  # decoded in stereo


def test_a_mono_file_gains_a_room(sda_run, tiny_stereo_bundle, pair, tiny_audio_dir, tmp_path):
    pluck = tiny_audio_dir / "pluck_0.wav"
    placed = _edit(
        sda_run, tiny_stereo_bundle, "swap-side", pluck, pair[1], out=tmp_path / "p.sdacodes"
    )
    assert placed.channels == 2
    assert np.array_equal(placed.side_indices, Codes.load(pair[1]).side_indices[:, : placed.frames])


@pytest.mark.parametrize(
    "args",
    [
        ["swap", "A", "B", "-l", "0", "--target", "side"],
        ["blend", "A", "B", "--target", "both"],
        ["swap-side", "A", "B"],
    ],
)
def test_a_mono_model_refuses_stereo_edits(sda_run, tiny_audio_dir, tmp_path, args):
    pluck, drone, _ = sorted(tiny_audio_dir.glob("*.wav"))
    args = [pluck if a == "A" else drone if a == "B" else a for a in args]
    result = sda_run("edit", *args, "-m", "tiny", "-o", tmp_path / "x.sdacodes")
    assert isinstance(result.exception, CodesError), result.output
    message = str(result.exception)
    assert "needs a stereo model, and tiny is mono" in message and "--target mid" in message
    assert not (tmp_path / "x.sdacodes").exists()


def test_unknown_target_and_mono_sounds(sda_run, tiny_stereo_bundle, pair, tmp_path):
    result = sda_run("edit", "blend", *pair, "--target", "left", "-m", tiny_stereo_bundle.path,
                     "-o", tmp_path / "x.sdacodes")  # fmt: skip
    assert "unknown --target 'left'; use mid, side or both" in str(result.exception)
    mono = Codes.load(pair[1]).mid.save(tmp_path / "mono.sdacodes")
    result = sda_run("edit", "swap", pair[0], mono, "-l", "0", "--target", "side",
                     "-m", tiny_stereo_bundle.path, "-o", tmp_path / "x.sdacodes")  # fmt: skip
    assert "sound B is mono" in str(result.exception)
    kept = _edit(sda_run, tiny_stereo_bundle, "swap", pair[0], mono, "-l", "0",
                 out=tmp_path / "kept.sdacodes")  # fmt: skip
    assert np.array_equal(kept.side_indices, Codes.load(pair[0]).side_indices)  # A's room kept


def test_regen_of_stereo_codes_redraws_the_target_grid_only(
    sda_run, tiny_stereo_bundle, pair, tmp_path, one_torch_thread
):
    a = Codes.load(pair[0])
    out = tmp_path / "regen.sdacodes"
    result = sda_run("edit", "regen", pair[0], "--frames", "4:12", "--target", "side",
                     "-m", tiny_stereo_bundle.path, "-o", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    regenerated = Codes.load(out)
    assert np.array_equal(regenerated.indices, a.indices)  # the side alone was redrawn
    assert np.array_equal(regenerated.side_indices[:, :4], a.side_indices[:, :4])
    assert np.array_equal(regenerated.side_indices[:, 12:], a.side_indices[:, 12:])


def test_dna_stats_cover_both_grids(sda_run, tiny_stereo_bundle, pair, tiny_audio_dir):
    result = sda_run("dna", "stats", tiny_stereo_bundle.path, *pair, "--top", "2")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "stereo: mid + 2 side levels" in text
    titles = (
        "code usage per level",
        "signature codes (frequent here, rare elsewhere)",
        "similarity of code histograms (1 = same codes, same proportions)",
    )
    for title in titles:  # one table per grid
        assert f"{title} - mid (the downmix)" in text and f"{title} - side (width and room)" in text
    assert "codes by sound" in text

    pluck = tiny_audio_dir / "pluck_0.wav"  # encoded centred: stereo too, with a silent side
    mono = Codes.load(pair[1]).mid.save(pair[1].with_name("mono.sdacodes"))
    mixed = sda_run("dna", "stats", tiny_stereo_bundle.path, pair[0], pluck, mono, "--no-profile")
    assert mixed.exit_code == 0, mixed.output
    text = " ".join(mixed.output.split())
    assert "mono.sdacodes: mono, with no side grid; the tables compare the mids" in text
    assert text.count("code usage per level") == 1 and "side (width" not in text


def test_a_side_edit_with_a_shorter_b_crops_as_mid(sda_run, tiny_stereo_bundle, pair, tmp_path):
    longer, shorter = (Codes.load(p) for p in reversed(pair))
    out = tmp_path / "cropped.sdacodes"
    room = _edit(sda_run, tiny_stereo_bundle, "blend", pair[1], pair[0], "--target", "side",
                 "--alpha", "1", out=out)  # fmt: skip
    assert room.frames == shorter.frames
    assert np.array_equal(room.indices, longer.indices[:, : shorter.frames])
    assert np.array_equal(room.side_indices, shorter.side_indices)
