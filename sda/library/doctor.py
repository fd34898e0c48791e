"""`sda library doctor`: recover interrupted operations, repair names and the index, and list
(or, on request, remove) the leftovers that crashes left in the library folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sda.library import journal
from sda.library.bundle import META_FILE, BundleError, check_bundle_folder, read_json_file
from sda.library.disk_space import disk_full_as_error, folder_size
from sda.library.index import CorruptIndex, read_index

if TYPE_CHECKING:
    from sda.library.library import Library

# Scratch folders of operations, named `.<kind>-<intent id>` in the library root.
SCRATCH_KINDS = ("staging", "import", "export", "trash")


@dataclass
class Leftover:
    """A file or folder an interrupted operation left behind: never the only copy of a model."""

    path: Path
    size: int
    what: str


@dataclass
class DoctorReport:
    recovered: list[str] = field(default_factory=list)  # operations finished or undone
    repaired: list[str] = field(default_factory=list)  # names and index set right
    damaged: list[str] = field(default_factory=list)  # bundle folders that fail their check
    leftovers: list[Leftover] = field(default_factory=list)
    cleaned: bool = False  # whether the leftovers were removed

    @property
    def leftover_bytes(self) -> int:
        return sum(item.size for item in self.leftovers)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as found:
            return list(found)
    except OSError:
        return []


def _scratch_id(name: str) -> str | None:
    for kind in SCRATCH_KINDS:
        if name.startswith(f".{kind}-"):
            return name[len(kind) + 2 :]
    return None


def _is_temp(name: str) -> bool:
    """Temp files of atomic writes (`.index.json.x.tmp`) and of `save_bundle` (`.kit.tmp-x`)."""
    return name.startswith(".") and (name.endswith(".tmp") or ".tmp-" in name)


def find_leftovers(library: Library, *, sizes: bool = True, temps: bool = True) -> list[Leftover]:
    """Scratch folders without a live operation, temp files, hidden non-bundles. `temps` only
    under the library lock: another process's index write has a temp file while it runs."""
    # Listed before the journals: a scratch folder is made after its journal, so one that
    # starts in between is not mistaken for a leftover.
    roots = _entries(library.root)
    bundles = _entries(library.bundles_dir) if temps else []
    live = set(journal.pending(library.root))
    found: list[tuple[Path, str]] = []
    for entry in roots:
        scratch = _scratch_id(entry.name)
        if scratch is not None and scratch not in live:
            found.append((Path(entry.path), "unfinished operation's scratch folder"))
        elif temps and _is_temp(entry.name) and entry.name.split(".")[-2] not in live:
            found.append((Path(entry.path), "unfinished write"))
    for entry in bundles:
        if entry.name.startswith(".rename-") or _is_temp(entry.name):
            found.append((Path(entry.path), "hidden folder, not a bundle"))
        elif not entry.name.startswith(".") and entry.is_dir():
            for inner in _entries(Path(entry.path)):
                if _is_temp(inner.name):
                    found.append((Path(inner.path), "unfinished write"))
    return [Leftover(path, folder_size(path) if sizes else 0, what) for path, what in found]


def _fix_meta_names(library: Library) -> list[str]:
    """The folder name is the bundle's name: meta.json is set to it where a crash left another."""
    fixed = []
    for folder in sorted(library._folders()):
        path = library.bundles_dir / folder / META_FILE
        try:
            meta = read_json_file(path, "bundle description")
        except BundleError:
            continue  # reported as damaged
        if meta.get("name") != folder:
            from sda.atomic_files import write_json_atomic

            with disk_full_as_error(library.root, 0):
                write_json_atomic(path, {**meta, "name": folder})
            fixed.append(f'"{folder}": meta.json said "{meta.get("name")}"; set to its folder name')
    return fixed


def _damaged(library: Library) -> list[str]:
    damaged = []
    for folder in sorted(library._folders()):
        try:
            check_bundle_folder(library.bundles_dir / folder)
        except BundleError as error:
            damaged.append(f'"{folder}": {error}')
    return damaged


def _rebuild_index(library: Library) -> list[str]:
    """Rewrite the index from the bundle folders when it differs from them."""
    current = library._load(locked=True)
    try:
        on_disk = read_index(library.index_path)
    except CorruptIndex:
        on_disk = None
    fresh = library._reconcile({})
    for name, entry in fresh.items():
        if name in current:
            entry.added = current[name].added
    if on_disk == fresh:
        return []
    library._write(fresh)
    return [f"the index was rebuilt from the bundle folders ({len(fresh)} bundles)"]


def _remove(item: Leftover) -> None:
    if item.path.is_dir() and not item.path.is_symlink():
        shutil.rmtree(item.path)
    else:
        item.path.unlink(missing_ok=True)


def run_doctor(library: Library, *, clean: bool = False) -> DoctorReport:
    """Check and repair `library`; remove the leftovers only when `clean`."""
    from sda.library.recovery import recover

    with library._locked():
        report = DoctorReport(recovered=recover(library))
        report.repaired = _fix_meta_names(library) + _rebuild_index(library)
        report.damaged = _damaged(library)
        report.leftovers = find_leftovers(library)
        if clean:
            for item in report.leftovers:
                _remove(item)
            report.cleaned = True
    return report
