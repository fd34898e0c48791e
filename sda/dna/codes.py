"""`Codes`: a sound's DNA, the integer code grid (levels x frames) of one codec, and its file format.

File format (`.sdacodes`, a NumPy `.npz` archive, read by `sda.dna.npz_reader`: no pickles, sizes
checked before anything is allocated):
  - `indices`: int32 array, shape (levels, frames); level 0 is the coarsest codebook.
  - `meta`: uint8 array holding UTF-8 JSON with `format` ("sda-codes"), `version` (1), `bundle_id`,
    `frame_rate`, `codebook_size` and `provenance` (a JSON object: sources, operations).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sda.dna.errors import CodesError
from sda.dna.grid_fields import MAX_SECONDS, check_grid_fields, read_grid
from sda.dna.npz_reader import NpzError, NpzReader
from sda.dna.npz_writer import write_npz_atomic

FORMAT_NAME = "sda-codes"
FORMAT_VERSION = 1
SUFFIX = ".sdacodes"
SESSION_FORMAT = (
    "sda-session"  # the explorer's saved sessions: `sda.dna.session.load_grid` reads them
)
MAX_FILE_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class Codes:
    """An integer code grid plus what is needed to decode it with the right codec."""

    indices: np.ndarray  # (levels, frames) int32
    bundle_id: str  # fingerprint of the codec weights that produced / can decode these codes
    frame_rate: float  # latent frames per second
    codebook_size: int
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        indices = np.asarray(self.indices)
        if indices.ndim != 2:
            raise CodesError(
                f"a code grid must be 2-D (levels x frames), got shape {indices.shape}"
            )
        if not np.issubdtype(indices.dtype, np.integer):
            raise CodesError(f"code indices must be integers, got {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.codebook_size):
            raise CodesError(
                f"code indices must lie in 0..{self.codebook_size - 1}, "
                f"found {int(indices.min())}..{int(indices.max())}"
            )
        indices = np.ascontiguousarray(indices, dtype=np.int32)
        indices.setflags(write=False)
        object.__setattr__(self, "indices", indices)

    @property
    def levels(self) -> int:
        return int(self.indices.shape[0])

    @property
    def frames(self) -> int:
        return int(self.indices.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.frame_rate

    def with_indices(self, indices: np.ndarray, **provenance: Any) -> Codes:
        """A new `Codes` from the same codec with another grid; `provenance` entries are merged in."""
        merged = {**self.provenance, **provenance} if provenance else dict(self.provenance)
        return replace(self, indices=np.asarray(indices), provenance=merged)

    def check_compatible(self, other: Codes) -> None:
        """Raise if `other` comes from a different codec than `self`."""
        if other.bundle_id != self.bundle_id or other.codebook_size != self.codebook_size:
            raise CodesError(
                "these codes come from different models "
                f"({self.bundle_id} vs {other.bundle_id}); encode both sounds with the same model"
            )

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temp file + rename), so an interrupted save never leaves half a file."""
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "bundle_id": self.bundle_id,
            "frame_rate": self.frame_rate,
            "codebook_size": self.codebook_size,
            "provenance": self.provenance,
        }
        meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return write_npz_atomic(path, {"indices": self.indices, "meta": meta_bytes}, CodesError)

    @classmethod
    def load(cls, path: str | os.PathLike, *, max_seconds: float | None = None) -> Codes:
        """Read a `.sdacodes` file; never unpickles. (`sda.dna.session.load_grid` also reads an
        explorer session's current grid.)

        Every field and size is checked before the grid is read; a grid longer than `max_seconds`
        (default 2 hours) is refused. Any problem is one `CodesError` naming the file.
        """
        path = Path(path)
        if not path.is_file():
            raise CodesError(f"{path}: no such codes file")
        try:
            with NpzReader(path, max_file_bytes=MAX_FILE_BYTES) as archive:
                meta = archive.json("meta")
                if meta.get("format") == SESSION_FORMAT:
                    raise CodesError(
                        "this is an explorer editing session, not a codes file; "
                        "read its current sound with sda.dna.session.load_grid"
                    )
                if meta.get("format") != FORMAT_NAME:
                    raise CodesError("not an sda codes file")
                if meta.get("version") != FORMAT_VERSION:
                    raise CodesError(
                        f"codes format version {_short(meta.get('version'))} is not supported"
                    )
                fields = check_grid_fields(meta)
                indices = read_grid(
                    archive, "indices", fields, max_seconds=max_seconds or MAX_SECONDS
                )
            return cls(
                indices=indices,
                bundle_id=fields.bundle_id,
                frame_rate=fields.frame_rate,
                codebook_size=fields.codebook_size,
                provenance=fields.provenance,
            )
        except NpzError as error:
            raise CodesError(
                f"{path}: not a readable sda codes file ({error}); re-create it with `sda encode`"
            ) from None
        except CodesError as error:
            message = str(error)
            raise CodesError(
                message if message.startswith(str(path)) else f"{path}: {message}"
            ) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
