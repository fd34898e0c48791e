"""The library's `index.json`: one entry per bundle, read strictly and written atomically.

Reading never guesses: a damaged file raises `CorruptIndex` so the library can recover it from the
backup or the bundle folders. Writing keeps the previous good index as `index.json.bak`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sda.atomic_files import json_bytes, prepare_bytes, write_bytes_atomic
from sda.library.errors import LibraryError
from sda.library.names import name_key

INDEX_FILE = "index.json"
BACKUP_FILE = "index.json.bak"
INDEX_FORMAT = "sda-library"
INDEX_VERSION = 1


class CorruptIndex(Exception):
    """An index file that cannot be trusted (not JSON, not ours, wrong shape); internal signal."""


class IndexVersionError(LibraryError):
    """An index written by a newer sda: left untouched, the user is told to upgrade."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class LibraryEntry:
    """One bundle as the index lists it (a summary of its meta.json)."""

    name: str
    id: str = ""
    created: str = ""
    added: str = ""
    tags: list[str] = field(default_factory=list)
    has_prior: bool = False
    dataset_files: list[str] = field(default_factory=list)
    dataset_seconds: float | None = None

    @classmethod
    def from_meta(cls, name: str, meta: dict[str, Any], *, added: str = "") -> LibraryEntry:
        dataset = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
        files = [str(f.get("name", "")) for f in dataset.get("files", []) if isinstance(f, dict)]
        seconds = dataset.get("seconds")
        return cls(
            name=name,
            id=str(meta.get("id", "")),
            created=str(meta.get("created", "")),
            added=added or now(),
            tags=[str(t) for t in meta.get("tags", []) if isinstance(t, str)],
            has_prior=bool(meta.get("has_prior", False)),
            dataset_files=files,
            dataset_seconds=float(seconds) if isinstance(seconds, int | float) else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LibraryEntry:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def read_index(path: Path) -> dict[str, LibraryEntry] | None:
    """Entries by name; None when the file does not exist; raises `CorruptIndex` when damaged."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as error:  # bad UTF-8 or JSON, deep nesting
        raise CorruptIndex(str(error) or type(error).__name__) from None
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
        raise CorruptIndex("not an sda library index")
    version = data.get("version")
    if not isinstance(version, int):
        raise CorruptIndex("no format version")
    if version > INDEX_VERSION:
        raise IndexVersionError(
            f"{path} was written by a newer sda; upgrade sda to use this library"
        )
    try:
        entries = [LibraryEntry.from_dict(item) for item in data.get("bundles", [])]
    except (TypeError, AttributeError) as error:
        raise CorruptIndex(str(error)) from None
    return {entry.name: entry for entry in entries}


def _index_data(entries: dict[str, LibraryEntry]) -> dict[str, Any]:
    return {
        "format": INDEX_FORMAT,
        "version": INDEX_VERSION,
        "updated": now(),
        "bundles": [asdict(entries[name]) for name in sorted(entries, key=name_key)],
    }


def _backup(path: Path, backup: Path | None) -> None:
    if backup is not None and path.exists():
        write_bytes_atomic(backup, path.read_bytes())


def write_index(path: Path, entries: dict[str, LibraryEntry], *, backup: Path | None) -> None:
    """Write atomically; first copy the current (known good) index to `backup` when given."""
    _backup(path, backup)
    write_bytes_atomic(path, json_bytes(_index_data(entries)))


def prepare_index(
    path: Path, entries: dict[str, LibraryEntry], *, backup: Path | None, tmp_path: Path
) -> Path:
    """Like `write_index`, but leave the new index in `tmp_path` for `commit_prepared`: every
    write that needs disk space is done before an operation's first irreversible step."""
    _backup(path, backup)
    return prepare_bytes(tmp_path, json_bytes(_index_data(entries)))
