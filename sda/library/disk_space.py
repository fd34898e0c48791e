"""A full disk during a library operation: checked up front where the size is known, recognised
where it is not, and always reported as one sentence: "disk full: need ~N MB at PATH"."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sda.atomic_files import free_bytes, is_disk_full
from sda.library.errors import LibraryError

# Room kept beyond an operation's own size: the index, its backup, meta.json and a journal.
MARGIN_BYTES = 1024**2


class DiskFullError(LibraryError):
    """Not enough free space for a library operation; nothing was changed."""

    def __init__(self, need: int, where: str | os.PathLike, free: int | None = None) -> None:
        self.need, self.where = need, Path(where)
        has = f" ({_megabytes(free)} MB free)" if free is not None else ""
        super().__init__(
            f"disk full: need ~{_megabytes(need)} MB at {self.where}{has}; nothing was changed. "
            "Free some space (or use another folder) and try again"
        )


def _megabytes(count: int) -> int:
    return max(1, math.ceil(count / 1024**2))


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
