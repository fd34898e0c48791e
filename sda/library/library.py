"""The model library: a folder of bundles plus an `index.json` that lists them.

Layout: `<root>/bundles/<name>/` (one bundle per folder, the folder name IS the bundle name),
`<root>/index.json` (+ `index.json.bak`), `<root>/.lock`. Each bundle's own meta.json is the source
of truth; the index is a fast, rebuildable summary. Every change happens under a file lock and the
index is written atomically, so concurrent sda processes never lose each other's changes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sda.atomic_files import write_json_atomic
from sda.errors import SdaError
from sda.library.bundle import (
    META_FILE,
    BundleError,
    check_bundle_folder,
    load_bundle,
    read_json_file,
)
from sda.library.index import (
    BACKUP_FILE,
    INDEX_FILE,
    CorruptIndex,
    LibraryEntry,
    read_index,
    write_index,
)
from sda.library.names import InvalidNameError, did_you_mean, name_key, validate_name

if TYPE_CHECKING:
    from sda.library.bundle import Bundle

LOCK_FILE = ".lock"
BUNDLES_DIR = "bundles"
MAX_TAG_LENGTH = 40
ENV_VAR = "SDA_LIBRARY"


class LibraryError(SdaError):
    """A library operation that cannot be done: unknown or duplicate name, busy or damaged library."""


class UnknownBundleError(LibraryError):
    """No bundle with that name (the message suggests close names)."""


def default_library_root(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit` (--library), else $SDA_LIBRARY, else the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("sda", appauthor=False) / "library"


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or any(not c.isprintable() for c in tag):
            raise LibraryError(
                f"tag {tag[:60]!r} is too long or has odd characters (max {MAX_TAG_LENGTH})"
            )
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


class Library:
    """A folder of bundles; see the module docstring for the layout and the safety rules."""

    def __init__(self, root: str | os.PathLike | None = None, *, lock_timeout: float = 60.0):
        from filelock import FileLock

        self.root = default_library_root(root)
        self.bundles_dir = self.root / BUNDLES_DIR
        self.index_path = self.root / INDEX_FILE
        self.backup_path = self.root / BACKUP_FILE
        self.lock_timeout = lock_timeout
        self._lock = FileLock(str(self.root / LOCK_FILE))
        self.notice: str | None = None  # set when a damaged index was recovered; the CLI shows it

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    # ------------------------------------------------------------------ index I/O

    def _folders(self) -> set[str]:
        try:
            return {
                p.name
                for p in self.bundles_dir.iterdir()
                if p.is_dir() and not p.name.startswith(".")
            }
        except FileNotFoundError:
            return set()

    def _scan_folder(self, folder: str, *, added: str = "") -> LibraryEntry | None:
        try:
            meta = read_json_file(self.bundles_dir / folder / META_FILE, "bundle description")
            validate_name(folder)
        except (BundleError, InvalidNameError):
            return None  # not a bundle we manage (or damaged): left alone, never deleted
        return LibraryEntry.from_meta(folder, meta, added=added)

    def _reconcile(self, entries: dict[str, LibraryEntry]) -> dict[str, LibraryEntry]:
        """Index entries whose folder exists, plus folders the index does not know (e.g. after a crash)."""
        folders = self._folders()
        kept = {name: entry for name, entry in entries.items() if name in folders}
        for folder in sorted(folders - set(kept)):
            entry = self._scan_folder(folder)
            if entry is not None:
                kept[folder] = entry
        return kept

    def _load(self, *, locked: bool) -> dict[str, LibraryEntry]:
        try:
            entries = read_index(self.index_path)
        except CorruptIndex as error:
            if not locked:
                with self._locked():
                    return self._load(locked=True)
            return self._recover(str(error))
        return self._reconcile(entries or {})

    def _recover(self, reason: str) -> dict[str, LibraryEntry]:
        """Rebuild a damaged index from its backup and the bundle folders; keep the damaged file aside."""
        try:
            backup = read_index(self.backup_path) or {}
            source = "its backup and the bundle folders"
        except CorruptIndex:
            backup, source = {}, "the bundle folders"
        entries = self._reconcile(backup)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = self.root / f"{INDEX_FILE}.damaged-{stamp}-{uuid.uuid4().hex[:6]}"
        os.replace(self.index_path, aside)
        self._write(entries, backup_current=False)
        self.notice = (
            f"the library index {self.index_path} was damaged ({reason[:80]}); rebuilt it from "
            f"{source} ({len(entries)} bundles), the damaged file is kept as {aside.name}"
        )
        return entries

    def _write(self, entries: dict[str, LibraryEntry], *, backup_current: bool = True) -> None:
        write_index(self.index_path, entries, backup=self.backup_path if backup_current else None)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        try:
            with self._lock.acquire(timeout=self.lock_timeout):
                yield
        except Timeout:
            raise LibraryError(
                f"the library at {self.root} is busy (another sda process holds {LOCK_FILE}); try again"
            ) from None

    @contextmanager
    def _transaction(self) -> Iterator[dict[str, LibraryEntry]]:
        """Entries to change in place; written back (atomically, with a backup) if no error occurs."""
        with self._locked():
            entries = self._load(locked=True)
            yield entries
            self._write(entries)

    def _find(self, entries: dict[str, LibraryEntry], name: str) -> LibraryEntry:
        if name in entries:
            return entries[name]
        by_key = {name_key(n): e for n, e in entries.items()}
        if name_key(name) in by_key:
            return by_key[name_key(name)]
        raise UnknownBundleError(
            f'no bundle named "{name}" in the library at {self.root}.{did_you_mean(name, entries)} '
            "See `sda library list`."
        )

    # ------------------------------------------------------------------ reading

    def list(self) -> list[LibraryEntry]:
        """All bundles, sorted by name."""
        entries = self._load(locked=False)
        return [entries[name] for name in sorted(entries, key=name_key)]

    def names(self) -> list[str]:
        return [entry.name for entry in self.list()]

    def get(self, name: str) -> LibraryEntry:
        return self._find(self._load(locked=False), name)

    def has(self, name: str) -> bool:
        try:
            self.get(name)
        except UnknownBundleError:
            return False
        return True

    def path_of(self, name: str) -> Path:
        return self.bundles_dir / self.get(name).name

    def show(self, name: str) -> dict[str, Any]:
        """The bundle's full meta.json plus where it lives and its files' sizes."""
        path = self.path_of(name)
        meta = read_json_file(path / META_FILE, "bundle description")
        files = {p.name: p.stat().st_size for p in sorted(path.iterdir()) if p.is_file()}
        return {**meta, "path": str(path), "files": files}

    def load(self, name: str, *, device: str = "cpu") -> Bundle:
        return load_bundle(self.path_of(name), device=device)

    def search(
        self,
        query: str = "",
        *,
        tags: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
    ) -> list[LibraryEntry]:
        """Bundles whose name, tag, dataset file name or creation date contain `query` (any case),
        carrying all `tags`, created within [since, until] (ISO dates, inclusive)."""
        for label, value in (("since", since), ("until", until)):
            if value:
                try:
                    date.fromisoformat(value[:10])
                except ValueError:
                    raise LibraryError(
                        f"--{label} {value!r} is not a date like 2025-01-31"
                    ) from None
        wanted = query.casefold().strip()
        tags = [t.casefold() for t in tags]
        found = []
        for entry in self.list():
            haystack = [entry.name, *entry.tags, *entry.dataset_files, entry.created[:10]]
            if wanted and not any(wanted in text.casefold() for text in haystack):
                continue
            if any(tag not in [t.casefold() for t in entry.tags] for tag in tags):
                continue
            if since and entry.created[:10] < since[:10]:
                continue
            if until and entry.created[:10] > until[:10]:
                continue
            found.append(entry)
        return found

    # ------------------------------------------------------------------ changing

    def _update_meta(self, folder: str, changes: dict[str, Any]) -> dict[str, Any]:
        path = self.bundles_dir / folder / META_FILE
        meta = read_json_file(path, "bundle description")
        meta.update(changes)
        write_json_atomic(path, meta)
        return meta

    def add(
        self,
        bundle_dir: str | os.PathLike,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        move: bool = False,
    ) -> LibraryEntry:
        """Copy (or move) a bundle folder into the library under `name` (default: its meta name)."""
        source = Path(bundle_dir)
        _, meta = check_bundle_folder(source)
        name = validate_name(name or str(meta.get("name") or source.name))
        all_tags = _clean_tags([*meta.get("tags", []), *tags])
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        try:
            # Copy outside the lock so a slow copy never blocks other sda processes.
            if move:
                shutil.move(str(source), str(staging))
            else:
                shutil.copytree(source, staging, symlinks=False)
            staged = {
                **read_json_file(staging / META_FILE, "bundle description"),
                "name": name,
                "tags": all_tags,
            }
            write_json_atomic(staging / META_FILE, staged)
            with self._transaction() as entries:
                taken = {name_key(n) for n in entries} | {name_key(f) for f in self._folders()}
                if name_key(name) in taken:
                    raise LibraryError(
                        f'a bundle named "{name}" is already in the library; pick another name '
                        "or rename / delete the old one (sda library rename|delete)"
                    )
                self.bundles_dir.mkdir(parents=True, exist_ok=True)
                os.replace(staging, self.bundles_dir / name)
                entries[name] = LibraryEntry.from_meta(name, staged)
                return entries[name]
        finally:
            if staging.exists():
                if move:  # give the caller its folder back rather than losing it
                    shutil.move(str(staging), str(source))
                else:
                    shutil.rmtree(staging, ignore_errors=True)

    def rename(self, old: str, new: str) -> LibraryEntry:
        new = validate_name(new)
        with self._transaction() as entries:
            entry = self._find(entries, old)
            taken = {name_key(n) for n in entries} | {name_key(f) for f in self._folders()}
            if name_key(new) != name_key(entry.name) and name_key(new) in taken:
                raise LibraryError(f'a bundle named "{new}" already exists; pick another name')
            if new == entry.name:
                return entry
            # Through a temporary name so a case-only rename works on case-insensitive disks.
            hop = self.bundles_dir / f".rename-{uuid.uuid4().hex}"
            os.replace(self.bundles_dir / entry.name, hop)
            try:
                os.replace(hop, self.bundles_dir / new)
            except OSError:
                os.replace(hop, self.bundles_dir / entry.name)  # put it back; never lose a bundle
                raise
            self._update_meta(new, {"name": new})
            del entries[entry.name]
            entry.name = new
            entries[new] = entry
            return entry

    def tag(self, name: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> LibraryEntry:
        with self._transaction() as entries:
            entry = self._find(entries, name)
            drop = set(_clean_tags(remove))
            entry.tags = [t for t in _clean_tags([*entry.tags, *add]) if t not in drop]
            self._update_meta(entry.name, {"tags": entry.tags})
            return entry

    def delete(self, name: str) -> LibraryEntry:
        trash = self.root / f".trash-{uuid.uuid4().hex}"
        with self._transaction() as entries:
            entry = self._find(entries, name)
            os.replace(self.bundles_dir / entry.name, trash)  # atomic: gone from scans at once
            del entries[entry.name]
        shutil.rmtree(trash, ignore_errors=True)
        return entry

    def rebuild_index(self) -> int:
        """Rewrite the index from the bundle folders; returns the number of bundles found."""
        with self._transaction() as entries:
            fresh = self._reconcile({})
            for name, entry in fresh.items():
                if name in entries:
                    entry.added = entries[name].added
            entries.clear()
            entries.update(fresh)
            return len(entries)

    def import_zip(self, zip_path: str | os.PathLike, *, name: str | None = None) -> LibraryEntry:
        """Add a bundle shared as a .zip (checked for unsafe paths, links, size and valid weights)."""
        from sda.library.archive import extract_bundle_zip

        self.root.mkdir(parents=True, exist_ok=True)
        scratch = self.root / f".import-{uuid.uuid4().hex}"
        try:
            folder = extract_bundle_zip(zip_path, scratch)
            return self.add(folder, name=name, move=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def export_zip(
        self, name: str, zip_path: str | os.PathLike, *, overwrite: bool = False
    ) -> Path:
        from sda.library.archive import write_bundle_zip

        return write_bundle_zip(self.path_of(name), zip_path, overwrite=overwrite)


def resolve_bundle(
    name_or_path: str | os.PathLike, library: Library | None = None, *, device: str = "cpu"
) -> Bundle:
    """Load a bundle by library name, or by path (bundle folder, codec run, prior run)."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    looks_like_path = (
        isinstance(name_or_path, os.PathLike)
        or any(c in text for c in "/\\~")
        or text.startswith(".")
    )
    if looks_like_path:
        return load_bundle(path, device=device)
    library = library if library is not None else Library()
    if library.has(text):
        return library.load(text, device=device)
    if path.exists():
        return load_bundle(path, device=device)
    names = library.names()
    hint = did_you_mean(text, names)
    listing = (
        " See `sda library list`." if names else " The library is empty: add one with `sda export`."
    )
    raise UnknownBundleError(
        f'no bundle named "{text}" in the library at {library.root} and no such folder.{hint}{listing}'
    )
