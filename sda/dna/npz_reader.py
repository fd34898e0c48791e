"""Read sda's `.npz` files (codes, sessions) with every size checked before anything is allocated.

`np.load` trusts an array's header: a damaged or hostile file can declare a shape of billions of
items and numpy reserves that memory before reading a byte. Here each member's header is read and
checked against caps first, and only then are exactly that many bytes read.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from sda.errors import SdaError

MAX_JSON_BYTES = 16 * 1024**2  # a file's meta JSON (provenance and history labels)
MAX_MEMBERS = 10_000
# What zipfile raises on damaged containers: bad headers, CRC mismatches, broken deflate streams,
# encrypted or unknown compression, sizes that do not add up.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


class NpzError(SdaError):
    """The container itself is damaged or over a cap (the caller adds which file and what to do)."""


class NpzReader:
    """An open `.npz` archive; use as a context manager. Never unpickles."""

    def __init__(self, path: str | Path, *, max_file_bytes: int) -> None:
        self.path = Path(path)
        size = self.path.stat().st_size
        if size > max_file_bytes:
            raise NpzError(
                f"the file is {size / 1024**2:.0f} MiB, over the {max_file_bytes // 1024**2} MiB cap"
            )
        try:
            self._zip = zipfile.ZipFile(self.path)
        except _ZIP_ERRORS as error:
            raise NpzError(f"not a NumPy archive ({type(error).__name__})") from None
        if len(self._zip.infolist()) > MAX_MEMBERS:
            self._zip.close()
            raise NpzError(f"the archive lists more than {MAX_MEMBERS} entries")

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    @property
    def names(self) -> set[str]:
        return {n[: -len(".npy")] for n in self._zip.namelist() if n.endswith(".npy")}

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """(shape, dtype) of member `key`, read from its header alone."""
        with self._open(key) as handle:
            return _read_header(handle, key)[:2]

    def array(self, key: str, *, kinds: str, max_items: int) -> np.ndarray:
        """Member `key` as an array whose dtype kind is in `kinds` ("iu") and size is capped."""
        with self._open(key) as handle:
            shape, dtype, fortran = _read_header(handle, key)
            if dtype.kind not in kinds or dtype.hasobject or dtype.itemsize > 8:
                raise NpzError(f"'{key}' holds {dtype} values, not integers")
            count = math.prod(shape)  # Python ints: an absurd shape cannot overflow to a small one
            if count > max_items:
                raise NpzError(f"'{key}' declares {count:,} values, over the cap of {max_items:,}")
            wanted = count * dtype.itemsize
            try:  # at most `wanted` bytes, whatever the zip header claims
                data = handle.read(wanted)
            except _ZIP_ERRORS as error:
                raise NpzError(f"'{key}' is damaged ({type(error).__name__})") from None
        if len(data) != wanted:
            raise NpzError(f"'{key}' is truncated ({len(data)} of {wanted} bytes)")
        flat = np.frombuffer(data, dtype=dtype)
        return flat.reshape(shape, order="F" if fortran else "C")

    def json(self, key: str = "meta") -> dict[str, Any]:
        """Member `key` (UTF-8 JSON stored as uint8) as a dict."""
        raw = self.array(key, kinds="u", max_items=MAX_JSON_BYTES)
        try:
            value = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise NpzError(f"'{key}' is not valid JSON ({type(error).__name__})") from None
        if not isinstance(value, dict):
            raise NpzError(f"'{key}' is a JSON {type(value).__name__}, expected an object")
        return value

    def _open(self, key: str):
        try:
            return self._zip.open(key + ".npy")
        except KeyError:
            raise NpzError(f"the archive has no '{key}' entry") from None
        except _ZIP_ERRORS as error:
            raise NpzError(f"'{key}' cannot be read ({type(error).__name__})") from None


def _read_header(handle, key: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran_order) from a `.npy` header; numpy caps the header's own size."""
    try:
        version = npy_format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"npy version {version}")
    except (*_ZIP_ERRORS, SyntaxError, TypeError) as error:
        raise NpzError(f"'{key}' has a damaged array header ({type(error).__name__})") from None
    if any(not isinstance(side, int) or side < 0 for side in shape):
        raise NpzError(f"'{key}' has an impossible shape {shape}")
    return tuple(shape), np.dtype(dtype), bool(fortran)
