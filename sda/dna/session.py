"""An editing session: named source grids, the current grid and an undo/redo history, in one file.

File format (`.sdasession`, a NumPy `.npz` archive read with `allow_pickle=False`):
  - `meta`: uint8 array holding UTF-8 JSON: `format` ("sda-session"), `version` (1), `position`
    (index of the current step, -1 when empty), `sources` and `steps`: lists of entries with
    `name`/`label`, `bundle_id`, `frame_rate`, `codebook_size`, `provenance` and `array`, the name
    of the archive member holding that grid's int32 indices (identical grids share one member).
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

from sda.atomic_files import atomic_write
from sda.dna.codes import Codes, CodesError
from sda.errors import SdaError

FORMAT_NAME = "sda-session"
FORMAT_VERSION = 1
SUFFIX = ".sdasession"


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

        def entry(codes: Codes, **extra: Any) -> dict[str, Any]:
            key = (
                "grid_"
                + hashlib.sha1(
                    codes.indices.tobytes() + str(codes.indices.shape).encode()
                ).hexdigest()[:16]
            )
            arrays[key] = codes.indices
            return {
                **extra,
                "bundle_id": codes.bundle_id,
                "frame_rate": codes.frame_rate,
                "codebook_size": codes.codebook_size,
                "provenance": codes.provenance,
                "array": key,
            }

        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "max_history": self.max_history,
            "position": self._position,
            "sources": [entry(c, name=n) for n, c in self.sources.items()],
            "steps": [entry(s.codes, label=s.label) for s in self._steps],
        }
        meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        with atomic_write(path) as handle:
            np.savez(handle, meta=meta_bytes, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Session:
        """Read a `.sdasession` file; any damage is one `SessionError` naming the file."""
        path = Path(path)
        if not path.is_file():
            raise SessionError(f"{path}: no such session file")
        try:
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
                if meta.get("format") != FORMAT_NAME:
                    raise SessionError(f"{path}: not an sda session file")
                if meta.get("version") != FORMAT_VERSION:
                    raise SessionError(
                        f"{path}: session format version {meta.get('version')} is not supported"
                    )
                session = cls(max_history=int(meta.get("max_history", 500)))

                def grid(item: dict[str, Any]) -> Codes:
                    return Codes(
                        indices=archive[item["array"]],
                        bundle_id=str(item["bundle_id"]),
                        frame_rate=float(item["frame_rate"]),
                        codebook_size=int(item["codebook_size"]),
                        provenance=dict(item["provenance"]),
                    )

                for item in meta["sources"]:
                    session._check(codes := grid(item))
                    session.sources[str(item["name"])] = codes
                for item in meta["steps"]:
                    session._check(codes := grid(item))
                    session._steps.append(Step(label=str(item["label"]), codes=codes))
                position = int(meta["position"])
        except SessionError as error:
            message = str(error)
            if not message.startswith(str(path)):
                message = f"{path}: {message}"
            raise SessionError(message) from None
        except Exception as error:  # zip, JSON, missing keys, bad grids: all mean "damaged file"
            raise SessionError(
                f"{path}: not a readable sda session file ({type(error).__name__}: {error}); "
                "it may be damaged: open an earlier copy or start a new session"
            ) from None
        if not -1 <= position < len(session._steps) or (position == -1 and session._steps):
            raise SessionError(f"{path}: damaged session (history position {position})")
        session._position = position
        return session
