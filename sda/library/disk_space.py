"""A full disk during a library operation: checked up front where the size is known, recognised
where it is not, and always reported as one sentence: "disk full: need ~N MB at PATH"."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

from sda import disk_full
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
    """Raise the library's `DiskFullError` unless `where`'s disk has `need` bytes (+ margin) free."""
    disk_full.check_free_space(where, need, DiskFullError)


def disk_full_as_error(where: str | os.PathLike, need: int) -> AbstractContextManager[None]:
    """A full disk inside the block becomes the library's `DiskFullError` (see sda.disk_full)."""
    return disk_full.disk_full_as_error(where, need, DiskFullError)
