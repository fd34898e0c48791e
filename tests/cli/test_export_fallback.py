"""A crash while saving left last.ckpt truncated: training resumes from the newest readable step
checkpoint, and `sda library add` now takes that one too (with a note) instead of refusing the run."""

from __future__ import annotations

import os
from pathlib import Path

import factories
import pytest
import torch
from factories import run_cli

from sda.library import BundleError, Library
from sda.library.checkpoints import read_checkpoint


def with_step_file(run: Path, step: int) -> Path:
    """Keep last.ckpt's weights as an older step file, then cut last.ckpt short as a kill would."""
    folder = run / "checkpoints"
    ckpt = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=True)
    step_file = folder / f"step{step:07d}.ckpt"
    torch.save({**ckpt, "global_step": step}, step_file)
    os.utime(step_file, (1_000_000, 1_000_000))  # older than last.ckpt, as training leaves it
    last = folder / "last.ckpt"
    last.write_bytes(last.read_bytes()[:3000])
    return step_file


def test_export_falls_back_from_a_truncated_last_ckpt(tiny_models, tmp_path, capsys) -> None:
    codec, _ = tiny_models
    run = factories.write_codec_run(tmp_path / "run", codec)
    with_step_file(run, 20)
    code, out, err = run_cli(
        capsys, "library", "add", run, "--name", "kit", "--no-preview",
        "--library", tmp_path / "lib",
    )  # fmt: skip
    assert code == 0 and "Traceback" not in err, err
    said = " ".join(err.split())
    assert "last.ckpt could not be read" in said and "step0000020.ckpt, was used instead" in said
    assert "codec weights: step0000020.ckpt (step 20)" in out
    bundle = Library(tmp_path / "lib").load("kit")
    assert all(torch.equal(v, codec.state_dict()[k]) for k, v in bundle.codec.state_dict().items())


def test_a_prior_run_falls_back_too(tiny_models, tmp_path) -> None:
    codec, prior = tiny_models
    run = factories.write_prior_run(
        tmp_path / "prior", prior, codec_source=tmp_path, codec_fingerprint=codec.fingerprint()
    )
    step_file = with_step_file(run, 10)
    chosen = read_checkpoint(run)
    assert chosen.kind == "prior" and chosen.checkpoint == step_file
    assert "newest readable step checkpoint" in chosen.training["checkpoint_note"]


def test_nothing_readable_is_still_refused(tiny_models, tmp_path) -> None:
    codec, _ = tiny_models
    run = factories.write_codec_run(tmp_path / "run", codec)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:3000])
    (run / "checkpoints" / "step0000005.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(BundleError, match="last.ckpt is truncated"):
        read_checkpoint(run, checkpoint="last")
    with pytest.raises(BundleError, match="truncated"):  # a file named by the user: as it is
        read_checkpoint(last)
