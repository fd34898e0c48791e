"""`sda.disk_full`: the one way every layer says a disk is full, and the helpers the cache and
other writers without an error family of their own can use."""

from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple

import pytest

from sda.disk_full import (
    MARGIN_BYTES,
    DiskFullError,
    check_free_space,
    disk_full_as_error,
    disk_full_message,
    lacks_space,
)
from sda.errors import SdaError
from sda.library import DiskFullError as LibraryDiskFullError
from sda.library import LibraryError

Usage = namedtuple("Usage", "total used free")


def test_the_message_names_the_size_and_the_place(tmp_path):
    assert disk_full_message(5 * 1024**2 + 1, tmp_path) == f"disk full: need ~6 MB at {tmp_path}"
    assert disk_full_message(10, tmp_path, 0).endswith("(1 MB free)")  # never "~0 MB"


def test_free_space_is_checked_with_a_margin(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**9, 0, 3 * 1024**2))
    check_free_space(tmp_path, 2 * 1024**2 - 1)
    assert lacks_space(tmp_path, 2 * 1024**2 - 1) is None
    with pytest.raises(DiskFullError, match=r"need ~4 MB at .* \(3 MB free\); nothing was"):
        check_free_space(tmp_path, 3 * 1024**2)
    assert lacks_space(tmp_path, 3 * 1024**2) == (3 * 1024**2 + MARGIN_BYTES, 3 * 1024**2)


def test_a_full_disk_inside_a_block_becomes_one_error(tmp_path):
    full = pytest.raises(DiskFullError, match="disk full: need ~2 MB")
    with full as caught, disk_full_as_error(tmp_path, 1024**2):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert isinstance(caught.value, SdaError) and caught.value.where == tmp_path
    # anything else passes through
    with pytest.raises(OSError, match="Permission"), disk_full_as_error(tmp_path, 1):
        raise OSError(errno.EACCES, "Permission denied")


def test_the_library_error_is_both_a_library_and_a_disk_full_error(tmp_path):
    error = LibraryDiskFullError(10, tmp_path, 0)
    assert isinstance(error, LibraryError) and isinstance(error, DiskFullError)
    assert str(error).startswith(f"disk full: need ~1 MB at {tmp_path} (1 MB free); nothing was")
