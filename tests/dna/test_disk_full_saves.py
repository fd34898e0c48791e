"""A full disk while saving codes or a session: one clear error naming the file and the space
needed, the previous file intact, no temp file left."""

from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple

import numpy as np
import pytest

from sda import atomic_files
from sda.dna.codes import Codes
from sda.dna.errors import CodesError
from sda.dna.session import Session, SessionError

Usage = namedtuple("Usage", "total used free")


def _grid(frames: int = 20, seed: int = 0) -> Codes:
    indices = np.random.default_rng(seed).integers(0, 64, (4, frames))
    return Codes(indices, bundle_id="abc123", frame_rate=46.875, codebook_size=64)


def _session(seed: int) -> Session:
    session = Session()
    session.add_source("A", _grid(seed=seed))
    return session


def _fsync_fills_the_disk(monkeypatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic_files.os, "fsync", full)


@pytest.mark.parametrize(
    ("name", "make", "error"),
    [("kick.sdacodes", _grid, CodesError), ("work.sdasession", _session, SessionError)],
)
def test_a_disk_that_fills_while_saving_keeps_the_old_file(
    tmp_path, monkeypatch, name, make, error
):
    path = make(seed=0).save(tmp_path / name)
    before = path.read_bytes()
    _fsync_fills_the_disk(monkeypatch)
    with pytest.raises(error, match=rf"{name}: disk full: need ~1 MB at {tmp_path}; nothing"):
        make(seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_codes_too_big_for_the_disk_are_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**12, 10**12, 2 * 1024**2))
    with pytest.raises(CodesError, match=r"disk full: need ~\d MB at .* \(2 MB free\)"):
        _grid(frames=200_000).save(tmp_path / "long.sdacodes")  # 4 x 200k int32: 3.2 MB
    assert list(tmp_path.iterdir()) == []
