"""A full disk during a library operation: checked up front where the size is known, recognised
where it is not, and always reported as one sentence: "disk full: need ~N MB at PATH"."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sda import disk_full
from sda.atomic_files import free_bytes, is_disk_full
from sda.disk_full import MARGIN_BYTES
from sda.library.errors import LibraryError

__all__ = ["MARGIN_BYTES", "DiskFullError", "check_free_space", "disk_full_as_error", "folder_size"]


class DiskFullError(LibraryError, disk_full.DiskFullError):
    """Not enough free space for a library operation; nothing was changed."""

    def __init__(self, need: int, where: str | os.PathLike, free: int | None = None) -> None:
        super().__init__(
            need,
            where,
            free,
            note="nothing was changed. Free some space (or use another folder) and try again",
        )


def folder_size(path: Path) -> int:
    """Bytes in the files under `path` (0 when it is gone); links are not followed."""
    path = Path(path)
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue  # removed while we counted
    return total


def check_free_space(where: str | os.PathLike, need: int) -> None:
    """Raise `DiskFullError` unless `where`'s disk has `need` bytes plus a small margin free."""
    free = free_bytes(where)
    if free < need + MARGIN_BYTES:
        raise DiskFullError(need + MARGIN_BYTES, where, free)


@contextmanager
def disk_full_as_error(where: str | os.PathLike, need: int) -> Iterator[None]:
    """Turn a full-disk error raised inside the block (OSError ENOSPC/EDQUOT, or a writer that
    reports it in words) into `DiskFullError`; other errors pass through unchanged."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as error:
        if is_disk_full(error):
            raise DiskFullError(need + MARGIN_BYTES, where) from None
        raise
