"""The model library: a folder of bundles plus an `index.json` that lists them.

Layout: `<root>/bundles/<name>/` (one bundle per folder, the folder name IS the bundle name),
`<root>/index.json` (+ `index.json.bak`), `<root>/.lock`. Each bundle's own meta.json is the source
of truth; the index is a fast, rebuildable summary. Every change happens under a file lock and the
index is written atomically, so concurrent sda processes never lose each other's changes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sda.errors import SdaError
from sda.library import changes, journal
from sda.library.bundle import META_FILE, BundleError, load_bundle_folder, read_json_file
from sda.library.disk_space import disk_full_as_error
from sda.library.errors import LibraryBusyError, LibraryError, UnknownBundleError
from sda.library.index import (
    BACKUP_FILE,
    INDEX_FILE,
    CorruptIndex,
    LibraryEntry,
    prepare_index,
    read_index,
    write_index,
)
from sda.library.names import InvalidNameError, did_you_mean, name_key, validate_name

if TYPE_CHECKING:
    from sda.library.bundle import Bundle
    from sda.library.doctor import DoctorReport

LOCK_FILE = ".lock"
BUNDLES_DIR = "bundles"
ENV_VAR = "SDA_LIBRARY"
OPEN_LOCK_TIMEOUT = 5.0


def default_library_root(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit` (--library), else $SDA_LIBRARY, else the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("sda", appauthor=False) / "library"


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
        self.notice: str | None = None  # what was repaired on the way (the CLI shows it)
        self._opened = False

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    # ------------------------------------------------------------------ recovery

    def _note(self, text: str) -> None:
        self.notice = f"{self.notice}; {text}" if self.notice else text

    def _open(self) -> None:
        """On first use: finish or undo what a crash interrupted. Costs a look at two folders'
        names when there is nothing to do."""
        if self._opened:
            return
        self._opened = True
        from sda.library.doctor import find_leftovers
        from sda.library.recovery import needs_recovery, recover

        if needs_recovery(self):
            try:
                # Briefly: a busy library means another process is at work and recovers it.
                with self._locked(timeout=min(self.lock_timeout, OPEN_LOCK_TIMEOUT)):
                    done = recover(self)
            except LibraryBusyError:
                done = []
            except (SdaError, OSError) as error:  # never block reading the library
                done = [f"could not finish an interrupted operation ({error})"]
            if done:
                self._note("after an interrupted operation: " + "; ".join(done))
        leftovers = find_leftovers(self, sizes=False, temps=False)
        if leftovers:
            self._note(
                f"{len(leftovers)} leftover(s) from interrupted operations; "
                "`sda library doctor` shows them, `--clean` removes them"
            )

    def doctor(self, *, clean: bool = False) -> DoctorReport:
        """Check and repair the library: unfinished operations, names, index, leftovers."""
        from sda.library.doctor import run_doctor

        self._opened = True  # the doctor does all the opening check does, and reports it
        return run_doctor(self, clean=clean)

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
        self._open()
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
        with disk_full_as_error(self.root, 0):
            write_index(
                self.index_path, entries, backup=self.backup_path if backup_current else None
            )

    def _prepare_index(self, entries: dict[str, LibraryEntry], intent: journal.Intent) -> Path:
        """The new index in a temp file, to be committed by a rename once the operation is done."""
        tmp = self.root / f".{INDEX_FILE}.{intent.id}.tmp"
        with disk_full_as_error(self.root, 0):
            return prepare_index(self.index_path, entries, backup=self.backup_path, tmp_path=tmp)

    @contextmanager
    def _locked(self, timeout: float | None = None) -> Iterator[None]:
        from filelock import Timeout

        with disk_full_as_error(self.root, 0):
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            with self._lock.acquire(timeout=self.lock_timeout if timeout is None else timeout):
                yield
        except Timeout:
            raise LibraryBusyError(
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
        return load_bundle_folder(self.path_of(name), device=device)

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

    def add(
        self,
        bundle_dir: str | os.PathLike,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        move: bool = False,
    ) -> LibraryEntry:
        """Copy (or move) a bundle folder into the library under `name` (default: its meta name)."""
        return changes.add_bundle(self, Path(bundle_dir), name=name, tags=tags, move=move)

    def rename(self, old: str, new: str) -> LibraryEntry:
        return changes.rename_bundle(self, old, new)

    def tag(self, name: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> LibraryEntry:
        return changes.tag_bundle(self, name, add, remove)

    def delete(self, name: str) -> LibraryEntry:
        """Remove a bundle (the caller has asked the user first)."""
        return changes.delete_bundle(self, name)

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
        return changes.import_zip(self, zip_path, name)

    def export_zip(
        self, name: str, zip_path: str | os.PathLike, *, overwrite: bool = False
    ) -> Path:
        return changes.export_zip(self, name, zip_path, overwrite)
