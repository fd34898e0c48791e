"""Where the caches live, how much disk they take, and freeing it: the decoded audio's entries are
counted by `AudioCache.usage`; the prior's encoded codes (one `.npz` per recording and copy) here."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

LEFTOVER_SUFFIXES = (".tmp", ".tmp.npz", ".tmp.npy")  # what a crash mid-write leaves behind
_PRIOR_CODE_SUFFIXES = (".npz", ".npy", ".tmp")  # codes, scratch copies, interrupted writes


def default_cache_dir() -> Path:
    """The per-user cache folder for decoded audio (~/.cache/sda/audio on Linux)."""
    return Path(platformdirs.user_cache_dir("sda")) / "audio"


def prior_codes_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the prior's encoded codes are cached: beside the audio cache, or inside a given one."""
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir().parent
    return base / "prior-codes"


@dataclass(frozen=True)
class CacheUsage:
    """What a cache folder holds: finished entries and what interrupted writes left behind."""

    folder: Path
    files: int = 0
    bytes: int = 0
    leftovers: int = 0  # temp files of writes that never finished (a crash, a full disk)
    leftover_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.bytes + self.leftover_bytes


def prior_codes_usage(folder: Path) -> CacheUsage:
    """Count the prior's cached codes under `folder` (any depth; symlinks are not followed)."""
    files = size = leftovers = leftover_size = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if not name.endswith(_PRIOR_CODE_SUFFIXES):
                continue
            try:
                length = os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed meanwhile
            if name.endswith(LEFTOVER_SUFFIXES):
                leftovers, leftover_size = leftovers + 1, leftover_size + length
            else:
                files, size = files + 1, size + length
    return CacheUsage(folder, files, size, leftovers, leftover_size)


def clear_prior_codes(folder: Path) -> CacheUsage:
    """Delete the prior's cached codes under `folder` (nothing else); returns what was removed."""
    if not folder.is_dir():
        return CacheUsage(folder)
    files = size = leftovers = leftover_size = 0
    for root, dirs, names in os.walk(folder, topdown=False):
        for name in names:
            if not name.endswith(_PRIOR_CODE_SUFFIXES):
                continue
            path = os.path.join(root, name)
            try:
                length = os.lstat(path).st_size
                os.unlink(path)
            except OSError:
                continue
            if name.endswith(LEFTOVER_SUFFIXES):
                leftovers, leftover_size = leftovers + 1, leftover_size + length
            else:
                files, size = files + 1, size + length
        for name in dirs:
            with contextlib.suppress(OSError):  # only when empty: a scan may be writing
                os.rmdir(os.path.join(root, name))
    return CacheUsage(folder, files, size, leftovers, leftover_size)
