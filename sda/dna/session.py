"""An editing session: named source grids, the current grid and an undo/redo history, in one file.

File format (`.sdasession`, a NumPy `.npz` archive, read by `sda.dna.npz_reader`: no pickles, sizes
checked before anything is allocated):
  - `meta`: uint8 array holding UTF-8 JSON: `format` ("sda-session"), `version` (1), `position`
    (index of the current step, -1 when empty), `sources` and `steps`: lists of entries with
    `name`/`label`, `bundle_id`, `frame_rate`, `codebook_size`, `provenance` and `array`, the name
    of the archive member holding that grid's int32 indices (identical grids share one member).
    Version 2 (written only when a grid is stereo) adds, to a stereo entry, `channels`
    ("mid_side") and `side_array`, the member holding its side grid; mono entries are as in 1.
Every grid is stored exactly, so a reloaded session decodes bit-identically.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sda.dna.codes import (
    SESSION_FORMAT,
    STEREO_FORMAT_VERSION,
    STEREO_LAYOUT,
    Codes,
    is_stereo_entry,
)
from sda.dna.errors import CodesError
from sda.dna.grid_fields import MAX_SECONDS, check_grid_fields, check_grid_shape, read_grid
from sda.dna.npz_reader import NpzError, NpzReader
from sda.dna.npz_writer import write_npz_atomic
from sda.errors import SdaError

FORMAT_NAME = SESSION_FORMAT
FORMAT_VERSION = 1  # every grid mono
FORMAT_VERSIONS = (FORMAT_VERSION, STEREO_FORMAT_VERSION)
SUFFIX = ".sdasession"
MAX_FILE_BYTES = 1024**3
MAX_HISTORY = 10_000
MAX_SOURCES = 1_000
MAX_TEXT = 1_000  # characters of a source name or a step label
MAX_SESSION_VALUES = 256 * 1024**2  # codes in all of a session's distinct grids (1 GiB as int32)


class SessionError(SdaError):
    """A session that cannot be used: corrupt file, nothing to undo, codes from another model."""


@dataclass(frozen=True)
class Step:
    """One entry of the history: what was done and the grid it produced."""

    label: str
    codes: Codes


class Session:
    """Sources, the current grid and its history; `apply` pushes, `undo`/`redo` move along it."""

    def __init__(self, *, max_history: int = 500) -> None:
        if max_history < 1:
            raise SessionError(f"max_history must be at least 1, got {max_history}")
        self.max_history = max_history
        self.sources: dict[str, Codes] = {}
        self._steps: list[Step] = []
        self._position = -1  # index of the current step; -1 = nothing yet

    # ------------------------------------------------------------------ state

    @property
    def current(self) -> Codes | None:
        return self._steps[self._position].codes if self._position >= 0 else None

    @property
    def history(self) -> list[Step]:
        """Every step, including the ones `redo` can bring back (those after `position`)."""
        return list(self._steps)

    @property
    def position(self) -> int:
        return self._position

    @property
    def bundle_id(self) -> str | None:
        reference = self._reference()
        return None if reference is None else reference.bundle_id

    def _reference(self) -> Codes | None:
        """Any grid already in the session: they all come from one model."""
        return next(iter((*self.sources.values(), *(s.codes for s in self._steps))), None)

    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._steps) - 1

    def _check(self, codes: Codes) -> None:
        reference = self._reference()
        if reference is None:
            return
        try:
            reference.check_compatible(codes)
        except CodesError as error:
            raise SessionError(f"cannot add to this session: {error}") from None

    # ------------------------------------------------------------------ editing

    def add_source(self, name: str, codes: Codes, *, make_current: bool | None = None) -> Codes:
        """Register a source grid under `name`; it becomes the current grid if there is none yet."""
        if not name:
            raise SessionError("a source needs a name")
        self._check(codes)
        self.sources[name] = codes
        if make_current or (make_current is None and self.current is None):
            self.apply(codes, label=f"open {name}")
        return codes

    def apply(self, codes: Codes, *, label: str | None = None) -> Codes:
        """Make `codes` the current grid; steps that could have been redone are dropped."""
        self._check(codes)
        if label is None:
            operations = codes.provenance.get("operations") or [{"op": "edit"}]
            label = str(operations[-1].get("op", "edit"))
        del self._steps[self._position + 1 :]
        self._steps.append(Step(label=label, codes=codes))
        if len(self._steps) > self.max_history:
            del self._steps[: len(self._steps) - self.max_history]
        self._position = len(self._steps) - 1
        return codes

    def undo(self) -> Codes:
        if not self.can_undo:
            raise SessionError("nothing to undo")
        self._position -= 1
        return self._steps[self._position].codes

    def redo(self) -> Codes:
        if not self.can_redo:
            raise SessionError("nothing to redo")
        self._position += 1
        return self._steps[self._position].codes

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temp file, fsync, rename): the file on disk is never half-written."""
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        arrays: dict[str, np.ndarray] = {}

        def store(grid: np.ndarray) -> str:
            digest = hashlib.sha1(grid.tobytes() + str(grid.shape).encode()).hexdigest()
            arrays["grid_" + digest[:16]] = grid
            return "grid_" + digest[:16]

        def entry(codes: Codes, **extra: Any) -> dict[str, Any]:
            item = {
                **extra,
                "bundle_id": codes.bundle_id,
                "frame_rate": codes.frame_rate,
                "codebook_size": codes.codebook_size,
                "provenance": codes.provenance,
                "array": store(codes.indices),
            }
            if codes.side_indices is not None:
                item.update(channels=STEREO_LAYOUT, side_array=store(codes.side_indices))
            return item

        grids = [*self.sources.values(), *(step.codes for step in self._steps)]
        stereo = any(codes.channels == 2 for codes in grids)
        meta = {
            "format": FORMAT_NAME,
            "version": STEREO_FORMAT_VERSION if stereo else FORMAT_VERSION,
            "max_history": self.max_history,
            "position": self._position,
            "sources": [entry(c, name=n) for n, c in self.sources.items()],
            "steps": [entry(s.codes, label=s.label) for s in self._steps],
        }
        meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return write_npz_atomic(path, {"meta": meta_bytes, **arrays}, SessionError)

    @classmethod
    def load(cls, path: str | os.PathLike, *, max_seconds: float | None = None) -> Session:
        """Read a `.sdasession` file; any damage is one `SessionError` naming the file.

        Counts, fields and sizes are checked before any grid is read; grids longer than
        `max_seconds` (default 2 hours) are refused.
        """
        path = Path(path)
        if not path.is_file():
            raise SessionError(f"{path}: no such session file")
        try:
            with NpzReader(path, max_file_bytes=MAX_FILE_BYTES) as archive:
                return _read_session(archive, max_seconds or MAX_SECONDS)
        except (SessionError, CodesError) as error:
            message = str(error)
            if not message.startswith(str(path)):
                message = f"{path}: {message}"
            raise SessionError(message) from None
        except NpzError as error:
            raise SessionError(
                f"{path}: not a readable sda session file ({error}); "
                "it may be damaged: open an earlier copy or start a new session"
            ) from None


def load_grid(path: str | os.PathLike, *, max_seconds: float | None = None) -> Codes:
    """The grid in a `.sdacodes` file, or an explorer session's current grid: what commands that
    take codes accept. Any problem is one `CodesError` naming the file."""
    path = Path(path)
    if not _is_session(path):
        return Codes.load(path, max_seconds=max_seconds)
    try:
        current = Session.load(path, max_seconds=max_seconds).current
    except SessionError as error:
        raise CodesError(str(error)) from None
    if current is None:
        raise CodesError(
            f"{path} is an explorer editing session with no sound in it; "
            "open it in the explorer's DNA tab"
        )
    return current


def _is_session(path: Path) -> bool:
    """Whether `path` is a session file by its contents (a renamed session still reads as one)."""
    try:
        with NpzReader(path, max_file_bytes=MAX_FILE_BYTES) as archive:
            return archive.json("meta").get("format") == FORMAT_NAME
    except (NpzError, OSError):
        return False  # `Codes.load` gives the reason


def _read_session(archive: NpzReader, max_seconds: float) -> Session:
    """A `Session` from an open archive, every entry checked (raises SessionError / CodesError)."""
    meta = archive.json("meta")
    if meta.get("format") != FORMAT_NAME:
        raise SessionError("not an sda session file")
    version = meta.get("version")
    is_stereo_entry({}, version, FORMAT_VERSIONS, "session")  # refuses unknown versions
    max_history = _whole(meta.get("max_history", 500), "max_history", 1, MAX_HISTORY)
    position = _whole(meta.get("position"), "position", -1, max_history - 1)
    sources = _entries(meta, "sources", MAX_SOURCES)
    steps = _entries(meta, "steps", max_history)
    session = Session(max_history=max_history)
    grids = _Grids(archive, max_seconds, version)
    for item in sources:
        codes = grids.codes(item)
        session._check(codes)
        session.sources[_text(item, "name")] = codes
    for item in steps:
        codes = grids.codes(item)
        session._check(codes)
        session._steps.append(Step(label=_text(item, "label"), codes=codes))
    if position >= len(session._steps) or (position == -1 and session._steps):
        raise SessionError(f"damaged session (history position {position})")
    session._position = position
    return session


class _Grids:
    """Reads each stored grid once (identical grids share a member) and caps the total read."""

    def __init__(self, archive: NpzReader, max_seconds: float, version: int) -> None:
        self.archive, self.max_seconds, self.version = archive, max_seconds, version
        self.names = archive.names
        self.arrays: dict[str, np.ndarray] = {}
        self.total = 0

    def codes(self, item: dict[str, Any]) -> Codes:
        fields = check_grid_fields(item)
        stereo = is_stereo_entry(item, self.version, FORMAT_VERSIONS, "session")
        return Codes(
            indices=self._grid(item.get("array"), fields),
            bundle_id=fields.bundle_id,
            frame_rate=fields.frame_rate,
            codebook_size=fields.codebook_size,
            provenance=fields.provenance,
            side_indices=self._grid(item.get("side_array"), fields) if stereo else None,
        )

    def _grid(self, key: Any, fields) -> np.ndarray:
        if not isinstance(key, str) or key not in self.names:
            raise SessionError(f"a history entry names a grid {key!r:.40} the file does not hold")
        if key in self.arrays:
            check_grid_shape(self.arrays[key].shape, fields, key, max_seconds=self.max_seconds)
        else:
            self.arrays[key] = read_grid(self.archive, key, fields, max_seconds=self.max_seconds)
            self.total += self.arrays[key].size
            if self.total > MAX_SESSION_VALUES:
                raise SessionError(
                    f"the session's grids hold over {MAX_SESSION_VALUES:,} codes, over the cap"
                )
        return self.arrays[key]


def _whole(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SessionError(f"'{key}' must be a whole number in {low}..{high}, got {value!r:.40}")
    return value


def _entries(meta: dict[str, Any], key: str, cap: int) -> list[dict[str, Any]]:
    entries = meta.get(key)
    if not isinstance(entries, list) or len(entries) > cap:
        raise SessionError(f"'{key}' must be a list of at most {cap} entries")
    if not all(isinstance(entry, dict) for entry in entries):
        raise SessionError(f"'{key}' holds something other than JSON objects")
    return entries


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        raise SessionError(f"'{key}' must be text of 1..{MAX_TEXT} characters, got {value!r:.40}")
    return value
