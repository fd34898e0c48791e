"""A full disk, said the same way everywhere: "disk full: need ~N MB at PATH".

Checked up front where the size is known (`check_free_space`), recognised where it is not
(`is_disk_full` on the error). Every layer can use this: each family raises its own error type
(`AudioFileError`, `TrainingError`, the library's `DiskFullError`) with `disk_full_message`, or
this module's `DiskFullError` where there is no family (e.g. the decoded-audio cache).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sda.atomic_files import free_bytes, is_disk_full
from sda.errors import SdaError

__all__ = [
    "MARGIN_BYTES",
    "DiskFullError",
    "check_free_space",
    "disk_full_as_error",
    "disk_full_message",
    "is_disk_full",
    "megabytes",
]

# Room kept beyond a write's own size: an index, its backup, a journal, a log line.
MARGIN_BYTES = 1024**2


def megabytes(count: int) -> int:
    """`count` bytes in whole MB, rounded up (never 0: "need ~0 MB" would read as a bug)."""
    return max(1, math.ceil(count / 1024**2))


def disk_full_message(need: int, where: str | os.PathLike, free: int | None = None) -> str:
    """ "disk full: need ~N MB at PATH" (plus " (M MB free)" when known)."""
    has = f" ({megabytes(free)} MB free)" if free is not None else ""
    return f"disk full: need ~{megabytes(need)} MB at {Path(where)}{has}"


class DiskFullError(SdaError):
    """Not enough free space for a write; `note` says what was (not) changed and what to do."""

    def __init__(
        self,
        need: int,
        where: str | os.PathLike,
        free: int | None = None,
        *,
        note: str = "nothing was written. Free some space (or use another folder) and try again",
    ) -> None:
        self.need, self.where, self.free = need, Path(where), free
        super().__init__(f"{disk_full_message(need, where, free)}; {note}")


def check_free_space(
    where: str | os.PathLike, need: int, error: type[DiskFullError] = DiskFullError
) -> None:
    """Raise `error` unless `where`'s disk has `need` bytes plus a small margin free."""
    free = free_bytes(where)
    if free < need + MARGIN_BYTES:
        raise error(need + MARGIN_BYTES, where, free)


def lacks_space(where: str | os.PathLike, need: int) -> tuple[int, int] | None:
    """(bytes needed with the margin, bytes free) when `where`'s disk lacks them, else None: for
    callers that raise their own error type with `disk_full_message(*shortfall, ...)`."""
    free = free_bytes(where)
    return (need + MARGIN_BYTES, free) if free < need + MARGIN_BYTES else None


@contextmanager
def disk_full_as_error(
    where: str | os.PathLike, need: int, error: type[DiskFullError] = DiskFullError
) -> Iterator[None]:
    """Turn a full-disk error raised inside the block (OSError ENOSPC/EDQUOT, or a writer that
    says so in words) into `error`; other errors pass through unchanged."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as caught:
        if is_disk_full(caught):
            raise error(need + MARGIN_BYTES, where) from None
        raise
