"""Crash-safe file writes: a temp file in the same folder, fsync, then `os.replace`.

A reader (or a crash) sees either the old file or the new one, never half of either. Every file
sda writes that a person would hate to lose (codes, sessions, presets, bundles, the library index,
zips) goes through here, and so does telling a full disk from any other write error.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# ENOSPC: the disk is full; EDQUOT: the user's quota is (not defined on Windows).
DISK_FULL_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None
)
# How errors that lost their errno spell it: shutil.Error keeps only str(OSError), and the
# safetensors writer (Rust) reports "IoError(Os { code: 28, kind: StorageFull, ... })".
_DISK_FULL_WORDS = (
    *(os.strerror(code) for code in DISK_FULL_ERRNOS),
    "StorageFull",
    "QuotaExceeded",
)


def is_disk_full(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the disk or the quota is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            return True
        if any(word in str(error) for word in _DISK_FULL_WORDS):
            return True
        error = error.__cause__ or error.__context__
    return False


def free_bytes(path: str | os.PathLike) -> int:
    """Free bytes on the disk that holds `path` (or its nearest existing parent folder)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; its renames are durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_temp(path: Path, tmp_path: Path | None) -> tuple[int, str]:
    if tmp_path is None:
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # A caller-chosen name lets a journal record where a crash would leave the temp file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(tmp_path, flags, 0o600), str(tmp_path)


@contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    tmp_path: str | os.PathLike | None = None,
    **open_args: Any,
) -> Iterator[IO]:
    """Write `path` through a temp file beside it (`tmp_path`, or a random name): renamed over
    `path` only if the block succeeds, removed if it fails, so `path` always holds the old or the
    new content in full."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(path, Path(tmp_path) if tmp_path is not None else None)
    try:
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(
    path: Path, data: bytes, *, tmp_path: str | os.PathLike | None = None
) -> None:
    with atomic_write(path, tmp_path=tmp_path) as handle:
        handle.write(data)


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_json_atomic(path: Path, data: Any, *, tmp_path: str | os.PathLike | None = None) -> None:
    write_bytes_atomic(path, json_bytes(data), tmp_path=tmp_path)


def prepare_bytes(tmp_path: Path, data: bytes) -> Path:
    """Write and fsync `data` to `tmp_path` (created new), for `commit_prepared` to rename later:
    an operation prepares every write that needs disk space before its first irreversible step."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp_path, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp_path).unlink(missing_ok=True)
        raise
    return Path(tmp_path)


def commit_prepared(tmp_path: Path, path: Path) -> None:
    """Put a prepared file in place (a rename: needs no disk space)."""
    os.replace(tmp_path, path)
    fsync_dir(Path(path).parent)
