"""A full disk while saving a training checkpoint: one `TrainingError` saying "disk full: need
~N MB at PATH", the previous checkpoint intact, no temp file left, and the run resumes after."""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections import namedtuple

import pytest
import torch
from test_codec_training import make_sounds, smoke_config

from sda.training import checkpoint_io
from sda.training.checkpoint_io import SafeCheckpointIO
from sda.training.train_codec import TrainingError, train

Usage = namedtuple("Usage", "total used free")
DISK_FULL = r"disk full: need ~\d+ MB at .*checkpoints"


def _disk_fills(monkeypatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_io.os, "fsync", full)


def _checkpoint(step: int) -> dict:
    return {"global_step": step, "state_dict": {"w": torch.full((256, 256), float(step))}}


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "last.ckpt"
    saver = SafeCheckpointIO()
    saver.save_checkpoint(_checkpoint(1), path)
    before = path.read_bytes()
    _disk_fills(monkeypatch)
    with pytest.raises(TrainingError, match=DISK_FULL + ".*the checkpoints saved before are kept"):
        saver.save_checkpoint(_checkpoint(2), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]  # no temp file
    assert saver.load_checkpoint(path)["global_step"] == 1


def test_too_little_free_space_is_said_before_writing(tmp_path, monkeypatch):
    path = tmp_path / "checkpoints" / "step0000010.ckpt"
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(TrainingError, match=DISK_FULL + r" \(1 MB free\)"):
        SafeCheckpointIO().save_checkpoint(_checkpoint(1), path)
    assert list(path.parent.iterdir()) == []


def test_other_write_errors_are_not_called_a_full_disk(tmp_path, monkeypatch):
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(checkpoint_io.os, "fsync", broken)
    path = tmp_path / "last.ckpt"
    with pytest.raises(OSError) as caught:
        SafeCheckpointIO().save_checkpoint(_checkpoint(1), path)
    assert caught.value.errno == errno.EIO and list(tmp_path.iterdir()) == []


def test_a_run_stopped_by_a_full_disk_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    data = make_sounds(tmp_path / "sounds", count=2)
    run = train(smoke_config(tmp_path, data, "trainer.max_steps=4"))
    last = run / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    with monkeypatch.context() as patch:
        _disk_fills(patch)
        with pytest.raises(TrainingError, match=DISK_FULL):
            train(smoke_config(tmp_path, data, "trainer.max_steps=7"))
    assert last.read_bytes() == before
    leftovers = [p.name for p in (run / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    again = train(smoke_config(tmp_path, data, "trainer.max_steps=7"))
    step = torch.load(again / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert again == run and step["global_step"] == 7


def test_a_resume_removes_saves_a_killed_run_left_unfinished(tmp_path):
    from omegaconf import OmegaConf

    from sda.training.fit_run import find_resume

    folder = tmp_path / "checkpoints"
    SafeCheckpointIO().save_checkpoint(
        {"global_step": 3, "hyper_parameters": {"codec": {}}}, folder / "last.ckpt"
    )
    stale = folder / ".last.ckpt.1a2b3c4d.tmp"
    fresh = folder / ".step0000200.ckpt.5e6f7a8b.tmp"  # another run saving right now
    for temp in (stale, fresh):
        temp.write_bytes(b"\0" * 1000)
    old = time.time() - checkpoint_io.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    resume = find_resume(OmegaConf.create({}), tmp_path, kind="codec")
    assert resume.step == 3 and not stale.exists() and fresh.exists()
