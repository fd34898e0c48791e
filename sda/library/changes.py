"""The operations that change the library: add, rename, tag, delete, import and export a zip.

Each one writes a journal before its first step (`sda.library.journal`), so a crash at any point
is finished or undone later (`sda.library.recovery`). Each writes everything that needs disk space
first (staged bundle, new meta.json, new index in temp files) and only then renames into place,
so a full disk stops it with `DiskFullError` before anything the user sees has changed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sda.atomic_files import commit_prepared, json_bytes, prepare_bytes, write_json_atomic
from sda.library import journal
from sda.library.bundle import META_FILE, check_bundle_folder, read_json_file
from sda.library.disk_space import check_free_space, disk_full_as_error, folder_size
from sda.library.errors import LibraryError
from sda.library.index import LibraryEntry
from sda.library.names import name_key, validate_name

if TYPE_CHECKING:
    from sda.library.library import Library

MAX_TAG_LENGTH = 40


def clean_tags(tags: Iterable[str]) -> list[str]:
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


def _same_disk(source: Path, root: Path) -> bool:
    """True when `source` can be moved into `root` by a rename (atomic, no copy)."""
    try:
        return os.stat(source).st_dev == os.stat(root).st_dev
    except OSError:
        return False


def _taken(library: Library, entries: dict[str, LibraryEntry]) -> set[str]:
    return {name_key(n) for n in entries} | {name_key(f) for f in library._folders()}


# ---------------------------------------------------------------------------------------- add


def add_bundle(
    library: Library, source: Path, *, name: str | None, tags: Iterable[str], move: bool
) -> LibraryEntry:
    """Copy (or move) the bundle folder `source` into the library; see `Library.add`."""
    _, meta = check_bundle_folder(source)
    name = validate_name(name or str(meta.get("name") or source.name))
    changes = {"name": name, "tags": clean_tags([*meta.get("tags", []), *tags])}
    library._open()
    with disk_full_as_error(library.root, 0):
        library.root.mkdir(parents=True, exist_ok=True)
    by_rename = move and _same_disk(source, library.root)
    # The journal names the source only when it is moved: recovery then gives it back.
    source_text = str(source.absolute()) if by_rename else None
    intent = journal.begin(library.root, "add", name=name, source=source_text)
    staging = intent.scratch("staging")
    try:
        # Staged outside the lock so a slow copy never blocks other sda processes.
        staged = _stage(library, source, staging, by_rename, changes)
        entry = _commit_add(library, intent, staging, staged)
    except BaseException:
        try:
            if staging.exists() and by_rename:
                os.replace(staging, source)  # give the caller its folder back
            elif staging.exists():
                shutil.rmtree(staging)
            intent.finish()
        except OSError:
            intent.release()  # the undo failed: recovery finishes it
        raise
    if move and not by_rename:
        shutil.rmtree(source, ignore_errors=True)  # moved across disks: the copy is in place
    intent.finish()
    return entry


def _stage(
    library: Library, source: Path, staging: Path, by_rename: bool, changes: dict[str, Any]
) -> dict[str, Any]:
    """The bundle in `staging` with its new name and tags in meta.json."""
    need = 0 if by_rename else folder_size(source)
    with disk_full_as_error(library.root, need):
        if by_rename:
            os.replace(source, staging)
        else:
            check_free_space(library.root, need)
            shutil.copytree(source, staging, symlinks=False)
        staged = {**read_json_file(staging / META_FILE, "bundle description"), **changes}
        write_json_atomic(staging / META_FILE, staged)
    return staged


def _commit_add(
    library: Library, intent: journal.Intent, staging: Path, staged: dict[str, Any]
) -> LibraryEntry:
    name = staged["name"]
    with library._locked():
        entries = library._load(locked=True)
        if name_key(name) in _taken(library, entries):
            raise LibraryError(
                f'a bundle named "{name}" is already in the library; pick another name '
                "or rename / delete the old one (sda library rename|delete)"
            )
        entries[name] = LibraryEntry.from_meta(name, staged)
        with disk_full_as_error(library.root, 0):
            library.bundles_dir.mkdir(parents=True, exist_ok=True)
        index = library._prepare_index(entries, intent)
        try:
            os.replace(staging, library.bundles_dir / name)
        except BaseException:
            index.unlink(missing_ok=True)
            raise
        commit_prepared(index, library.index_path)
        return entries[name]


# ----------------------------------------------------------------------------- rename and tag


def rename_bundle(library: Library, old: str, new: str) -> LibraryEntry:
    new = validate_name(new)
    with library._locked():
        entries = library._load(locked=True)
        entry = library._find(entries, old)
        if name_key(new) != name_key(entry.name) and name_key(new) in _taken(library, entries):
            raise LibraryError(f'a bundle named "{new}" already exists; pick another name')
        if new == entry.name:
            return entry
        intent = journal.begin(library.root, "rename", old=entry.name, new=new)
        renamed = replace(entry, name=new)
        changed = {n: e for n, e in entries.items() if n != entry.name} | {new: renamed}
        try:
            _rename_folder(library, intent, entry.name, new, changed)
        except BaseException:
            intent.release()  # a no-op when undone; otherwise recovery finishes it
            raise
        intent.finish()
        return renamed


def _prepare_meta(library: Library, folder: Path, intent: journal.Intent, **changes) -> Path:
    """The bundle's new meta.json in a temp file inside its folder (moves with the folder)."""
    meta = read_json_file(folder / META_FILE, "bundle description")
    with disk_full_as_error(library.root, 0):
        return prepare_bytes(folder / f".{META_FILE}.{intent.id}.tmp", json_bytes(meta | changes))


def _rename_folder(
    library: Library, intent: journal.Intent, old: str, new: str, entries: dict[str, LibraryEntry]
) -> None:
    """Prepare the new meta.json and index (the steps that need disk space), then rename."""
    old_dir, new_dir = library.bundles_dir / old, library.bundles_dir / new
    meta_tmp = old_dir / f".{META_FILE}.{intent.id}.tmp"
    try:
        _prepare_meta(library, old_dir, intent, name=new)
        index = library._prepare_index(entries, intent)
    except BaseException:
        meta_tmp.unlink(missing_ok=True)
        intent.finish()
        raise
    # Through a temporary name so a case-only rename works on case-insensitive disks.
    hop = library.bundles_dir / f".rename-{intent.id}"
    os.replace(old_dir, hop)
    try:
        os.replace(hop, new_dir)
    except OSError:
        os.replace(hop, old_dir)  # put it back; never lose a bundle
        meta_tmp.unlink(missing_ok=True)
        index.unlink(missing_ok=True)
        intent.finish()
        raise
    commit_prepared(new_dir / meta_tmp.name, new_dir / META_FILE)
    commit_prepared(index, library.index_path)


def tag_bundle(
    library: Library, name: str, add: Iterable[str], remove: Iterable[str]
) -> LibraryEntry:
    with library._locked():
        entries = library._load(locked=True)
        entry = library._find(entries, name)
        drop = set(clean_tags(remove))
        tags = [t for t in clean_tags([*entry.tags, *add]) if t not in drop]
        entries[entry.name] = tagged = replace(entry, tags=tags)
        folder = library.bundles_dir / entry.name
        intent = journal.begin(library.root, "tag", name=entry.name, tags=tags)
        try:
            meta = _prepare_meta(library, folder, intent, tags=tags)
            index = library._prepare_index(entries, intent)
        except BaseException:
            (folder / f".{META_FILE}.{intent.id}.tmp").unlink(missing_ok=True)
            intent.finish()
            raise
        try:
            commit_prepared(meta, folder / META_FILE)
            commit_prepared(index, library.index_path)
        except BaseException:
            intent.release()  # recovery sets the index to what meta.json says
            raise
        intent.finish()
        return tagged


# ------------------------------------------------------------------------------------- delete


def delete_bundle(library: Library, name: str) -> LibraryEntry:
    """Moved aside first, so it vanishes at once; a crash while its files are removed is
    finished on the next start."""
    with library._locked():
        entries = library._load(locked=True)
        entry = library._find(entries, name)
        intent = journal.begin(library.root, "delete", name=entry.name)
        trash = intent.scratch("trash")
        try:
            index = library._prepare_index(
                {n: e for n, e in entries.items() if n != entry.name}, intent
            )
        except BaseException:
            intent.finish()
            raise
        try:
            os.replace(library.bundles_dir / entry.name, trash)
        except BaseException:
            index.unlink(missing_ok=True)
            intent.finish()
            raise
        try:
            commit_prepared(index, library.index_path)
        except BaseException:
            intent.release()  # the bundle is in the trash: recovery finishes the deletion
            raise
    shutil.rmtree(trash, ignore_errors=True)
    # A file that would not go: the next start (or the doctor) tries again.
    intent.end(done=not trash.exists())
    return entry


# -------------------------------------------------------------------------------- zip files


def import_zip(library: Library, zip_path: str | os.PathLike, name: str | None) -> LibraryEntry:
    from sda.library.archive import extract_bundle_zip

    library._open()
    intent = journal.begin(library.root, "import", source=str(zip_path), name=name)
    scratch = intent.scratch("import")
    try:
        folder = extract_bundle_zip(zip_path, scratch)
        return library.add(folder, name=name, move=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        intent.end(done=not scratch.exists())


def export_temp(target: Path, intent_id: str) -> Path:
    """Where `export_zip` writes the zip before renaming it into place."""
    return target.parent / f".{target.name}.{intent_id}.tmp"


def export_zip(library: Library, name: str, zip_path: str | os.PathLike, overwrite: bool) -> Path:
    """After a crash the next start removes the unfinished zip (the journal knows its name)."""
    from sda.library.archive import write_bundle_zip, zip_target

    folder, target = library.path_of(name), zip_target(zip_path).absolute()
    intent = journal.begin(library.root, "export-zip", name=name, target=str(target))
    tmp = export_temp(target, intent.id)
    try:
        return write_bundle_zip(folder, target, overwrite=overwrite, tmp_path=tmp)
    finally:
        intent.end(done=not tmp.exists())
