"""The steps both training apps share: which checkpoint a run resumes from, what a run saves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from sda.training.errors import TrainingError
from sda.training.fit_run import Resume, find_resume, save_run_config


def _checkpoint(path: Path, step: int, **hparams) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"global_step": step, "hyper_parameters": hparams}, path)
    return path


def _cfg(resume: bool = True):
    return OmegaConf.create({"resume": resume})


def test_a_fresh_run_has_nothing_to_resume(tmp_path: Path) -> None:
    assert find_resume(_cfg(), tmp_path, kind="codec") == Resume()


def test_last_checkpoint_of_the_right_kind_wins(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    _checkpoint(folder / "step0000010.ckpt", 10, prior={"n": 1})
    last = _checkpoint(folder / "last.ckpt", 20, prior={"n": 2}, descriptor_stats={})
    resume = find_resume(_cfg(), tmp_path, kind="prior")
    assert (resume.checkpoint, resume.step) == (last, 20)
    assert resume.hparams["prior"] == {"n": 2} and "descriptor_stats" in resume.hparams


def test_a_checkpoint_of_another_kind_is_skipped_then_refused(tmp_path: Path) -> None:
    """A prior run folder that holds a codec checkpoint (or only broken files) cannot resume."""
    folder = tmp_path / "checkpoints"
    _checkpoint(folder / "last.ckpt", 20, codec={"n_fft": 256})
    (folder / "step0000010.ckpt").write_bytes(b"truncated")
    with pytest.raises(TrainingError, match="resume=false") as refused:
        find_resume(_cfg(), tmp_path, kind="prior")
    assert "last.ckpt: KeyError" in str(refused.value)
    assert "step0000010.ckpt" in str(refused.value)
    assert find_resume(_cfg(), tmp_path, kind="codec").step == 20


def test_resume_false_moves_old_checkpoints_aside(tmp_path: Path) -> None:
    last = _checkpoint(tmp_path / "checkpoints" / "last.ckpt", 5, codec={})
    assert find_resume(_cfg(resume=False), tmp_path, kind="codec") == Resume()
    assert not last.exists()
    (aside,) = tmp_path.glob("checkpoints-replaced-*")
    assert (aside / "last.ckpt").is_file()  # kept, never deleted


def test_the_run_config_and_codebook_size_are_saved(tmp_path: Path) -> None:
    save_run_config(OmegaConf.create({"a": 1, "b": "${a}"}), tmp_path, 256)
    assert OmegaConf.load(tmp_path / ".hydra" / "config.yaml") == {"a": 1, "b": 1}  # resolved
    assert (tmp_path / "codebook_size.txt").read_text() == "256\n"
