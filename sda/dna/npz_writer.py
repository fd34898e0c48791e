"""Writing a `.sdacodes` or `.sdasession` file: atomic, and a full disk said in one sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sda.atomic_files import atomic_write
from sda.disk_full import disk_full_message, is_disk_full, lacks_space
from sda.errors import SdaError

_ZIP_OVERHEAD = 64 * 1024  # the zip directory and .npy headers


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray], error: type[SdaError]) -> Path:
    """`arrays` as an uncompressed `.npz` at `path` (temp file, fsync, rename): the old file or
    the new one, never half. A full disk raises `error` ("disk full: need ~N MB at FOLDER")."""
    need = sum(array.nbytes for array in arrays.values()) + _ZIP_OVERHEAD
    short = lacks_space(path.parent, need)
    if short is not None:  # the size is known: say so before writing a byte
        raise error(_message(path, *short))
    try:
        with atomic_write(path) as handle:
            np.savez(handle, **arrays)
    except OSError as failure:
        if is_disk_full(failure):
            raise error(_message(path, need)) from None
        raise
    return path


def _message(path: Path, need: int, free: int | None = None) -> str:
    return (
        f"{path}: {disk_full_message(need, path.parent, free)}; nothing was written. "
        "Free some space or save to another folder"
    )
