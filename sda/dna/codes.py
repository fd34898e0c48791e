"""`Codes`: a sound's DNA, the integer code grid (levels x frames) of one codec, and its file format.

A stereo sound has two grids (`sda.models.stereo_codec`): `indices` codes the mid (L + R) / 2 and
`side_indices` the side (L - R) / 2, with as many frames and at most as many levels, plus, for
models that have one, a last row saying where the side sits (`sda.models.stereo_direction`: a
row like the others to edits and the prior, set apart only to decode). A mono sound has
`side_indices` None, and everything about it is as before.

File format (`.sdacodes`, a NumPy `.npz` archive, read by `sda.dna.npz_reader`: no pickles, sizes
checked before anything is allocated):
  - `indices`: int32 array, shape (levels, frames); level 0 is the coarsest codebook (the mid).
  - `side` (version 2 only): int32 array, shape (side_levels, frames): the side grid.
  - `meta`: uint8 array holding UTF-8 JSON with `format` ("sda-codes"), `version`, `bundle_id`,
    `frame_rate`, `codebook_size`, `provenance` (a JSON object: sources, operations) and, in
    version 2, `channels` ("mid_side").
A file is written in the oldest version that holds it: mono grids stay version 1 (readable by
every sda), stereo grids are version 2 (an older sda refuses them by their version).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sda.dna.errors import CodesError
from sda.dna.grid_fields import MAX_SECONDS, check_grid_fields, read_grid
from sda.dna.npz_reader import NpzError, NpzReader
from sda.dna.npz_writer import write_npz_atomic

FORMAT_NAME = "sda-codes"
FORMAT_VERSION = 1  # mono grids
STEREO_FORMAT_VERSION = 2  # a mid grid and a side grid
FORMAT_VERSIONS = (FORMAT_VERSION, STEREO_FORMAT_VERSION)
STEREO_LAYOUT = "mid_side"
PARTS = ("mid", "side")
SUFFIX = ".sdacodes"
SESSION_FORMAT = (
    "sda-session"  # the explorer's saved sessions: `sda.dna.session.load_grid` reads them
)
MAX_FILE_BYTES = 512 * 1024**2
_KEEP: Any = object()  # `with_indices`: keep the side grid as it is

Part = Literal["mid", "side"]


@dataclass(frozen=True)
class Codes:
    """An integer code grid plus what is needed to decode it with the right codec."""

    indices: np.ndarray  # (levels, frames) int32
    bundle_id: str  # fingerprint of the codec weights that produced / can decode these codes
    frame_rate: float  # latent frames per second
    codebook_size: int
    provenance: dict[str, Any] = field(default_factory=dict)
    side_indices: np.ndarray | None = None  # (side_levels, frames) int32; None for a mono sound

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", self._checked(self.indices, "a code grid"))
        if self.side_indices is None:
            return
        side = self._checked(self.side_indices, "a side grid")
        if side.shape[1] != self.frames or not 1 <= side.shape[0] <= self.levels + 1:
            raise CodesError(
                f"the side grid is {side.shape[0]} levels x {side.shape[1]} frames and the mid "
                f"grid {self.levels} x {self.frames}: the side needs the same frames and at most "
                "as many levels (and a direction row)"
            )
        object.__setattr__(self, "side_indices", side)

    def _checked(self, grid: Any, what: str) -> np.ndarray:
        indices = np.asarray(grid)
        if indices.ndim != 2:
            raise CodesError(f"{what} must be 2-D (levels x frames), got shape {indices.shape}")
        if not np.issubdtype(indices.dtype, np.integer):
            raise CodesError(f"code indices must be integers, got {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.codebook_size):
            raise CodesError(
                f"code indices must lie in 0..{self.codebook_size - 1}, "
                f"found {int(indices.min())}..{int(indices.max())}"
            )
        indices = np.ascontiguousarray(indices, dtype=np.int32)
        indices.setflags(write=False)
        return indices

    @property
    def levels(self) -> int:
        return int(self.indices.shape[0])

    @property
    def frames(self) -> int:
        return int(self.indices.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.frame_rate

    # --- stereo ------------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        """2 for a stereo sound (mid and side grids), 1 for a mono one."""
        return 1 if self.side_indices is None else 2

    @property
    def side_levels(self) -> int:
        return 0 if self.side_indices is None else int(self.side_indices.shape[0])

    @property
    def mid(self) -> Codes:
        """The mid grid as a mono `Codes`: the code grid of the downmix (L + R) / 2."""
        return replace(self, side_indices=None, provenance=dict(self.provenance))

    @property
    def side(self) -> Codes:
        """The side grid as a mono `Codes` of the same model (edit it, then `with_side`)."""
        if self.side_indices is None:
            raise CodesError(
                "this sound is mono: it has no side grid; give it one with "
                "sda.dna.stereo_edit.swap_side (put it in another sound's room)"
            )
        return replace(
            self, indices=self.side_indices, side_indices=None, provenance=dict(self.provenance)
        )

    def part(self, name: Part) -> Codes:
        """`mid` or `side` by name."""
        if name not in PARTS:
            raise CodesError(f"unknown grid {name!r}; choose mid or side")
        return self.mid if name == "mid" else self.side

    def with_side(self, side: Codes | np.ndarray | None, **provenance: Any) -> Codes:
        """The same mid with another side grid (None: mono); `provenance` entries merged in."""
        if isinstance(side, Codes):
            self.check_compatible(side)
            side = side.indices
        return self.with_indices(self.indices, side_indices=side, **provenance)

    def with_indices(
        self, indices: np.ndarray, *, side_indices: Any = _KEEP, **provenance: Any
    ) -> Codes:
        """A new `Codes` from the same codec with another grid; `provenance` entries are merged in.
        The side grid is kept unless `side_indices` gives another (None: mono)."""
        merged = {**self.provenance, **provenance} if provenance else dict(self.provenance)
        side = self.side_indices if side_indices is _KEEP else side_indices
        return replace(self, indices=np.asarray(indices), side_indices=side, provenance=merged)

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
        arrays = {"indices": self.indices}
        if self.side_indices is not None:
            meta.update(version=STEREO_FORMAT_VERSION, channels=STEREO_LAYOUT)
            arrays["side"] = self.side_indices
        meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return write_npz_atomic(path, {**arrays, "meta": meta_bytes}, CodesError)

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
                stereo = is_stereo_entry(meta, meta.get("version"), FORMAT_VERSIONS, "codes")
                fields = check_grid_fields(meta)
                limit = max_seconds or MAX_SECONDS
                indices = read_grid(archive, "indices", fields, max_seconds=limit)
                side = read_grid(archive, "side", fields, max_seconds=limit) if stereo else None
            return cls(
                indices=indices,
                bundle_id=fields.bundle_id,
                frame_rate=fields.frame_rate,
                codebook_size=fields.codebook_size,
                provenance=fields.provenance,
                side_indices=side,
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


def is_stereo_entry(item: dict[str, Any], version: Any, versions: tuple, what: str) -> bool:
    """Whether a file's grid entry (of a file in `version`) holds a side grid; refuses versions
    outside `versions` and a stereo layout this sda does not know."""
    if isinstance(version, bool) or version not in versions:
        raise CodesError(
            f"{what} format version {_short(version)} is not supported; "
            "was it saved by a newer sda? Update sda to open it"
        )
    layout = item.get("channels")
    if version < STEREO_FORMAT_VERSION or layout is None:
        return False
    if layout != STEREO_LAYOUT:
        raise CodesError(f"unknown channel layout {_short(layout)}; expected {STEREO_LAYOUT!r}")
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
