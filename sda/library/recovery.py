"""Finish or undo library operations that a crash (or a kill) interrupted.

Each operation leaves a journal (`sda.library.journal`); here each kind is rolled to a state the
user asked for or had before: a rename ends under its new name (or, if it never started, its old
one), a confirmed deletion is finished, an add, import or export that had not landed is undone and
a moved folder is given back. Runs under the library lock, on the first use of a `Library`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from sda.errors import SdaError
from sda.library import journal
from sda.library.bundle import META_FILE, BundleError, read_json_file
from sda.library.index import INDEX_FILE, CorruptIndex, read_index
from sda.library.names import InvalidNameError, name_key, validate_name

if TYPE_CHECKING:
    from sda.library.library import Library

HIDDEN_RENAME = ".rename-"
# Renames and deletions first: an add's journal may need a name a rename still holds.
_ORDER = ("rename", "delete", "tag", "add", "import", "export", "export-zip")


def needs_recovery(library: Library) -> bool:
    """Whether there is anything to recover: a journal, or a bundle hidden by a crashed rename."""
    return bool(journal.pending(library.root)) or bool(_hidden_renames(library))


def _hidden_renames(library: Library) -> list[Path]:
    try:
        return sorted(p for p in library.bundles_dir.iterdir() if p.name.startswith(HIDDEN_RENAME))
    except OSError:
        return []


def _names(folder: Path) -> set[str]:
    """Exact folder names (on a case-insensitive disk, `exists()` would match other cases)."""
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _set_meta_name(folder: Path, name: str) -> None:
    from sda.atomic_files import write_json_atomic

    meta = read_json_file(folder / META_FILE, "bundle description")
    if meta.get("name") != name:
        write_json_atomic(folder / META_FILE, {**meta, "name": name})


def _roll_rename(library: Library, intent: journal.Intent, raw: dict | None) -> str:
    old, new = intent.data["old"], intent.data["new"]
    names = _names(library.bundles_dir)
    hop = f"{HIDDEN_RENAME}{intent.id}"
    taken = {name_key(n) for n in names if n not in (hop, old)}
    if hop in names:  # between the two renames: on to the new name unless it was taken since
        target = new if name_key(new) not in taken else old
        os.replace(library.bundles_dir / hop, library.bundles_dir / target)
    else:
        target = new if new in names and old not in names else old
    folder = library.bundles_dir / target
    for name in (old, new, target):
        (library.bundles_dir / name / f".{META_FILE}.{intent.id}.tmp").unlink(missing_ok=True)
    _set_meta_name(folder, target)
    if raw is not None and target != old and old in raw:
        raw[target] = replace(raw.pop(old), name=target)  # keeps when it was added
    verb = "finished" if target == new else "undone"
    return f'renaming "{old}" to "{new}" was {verb}'


def _roll_delete(library: Library, intent: journal.Intent, raw: dict | None) -> str:
    name, trash = intent.data["name"], intent.scratch("trash")
    if trash.exists():  # the user had confirmed: finish deleting
        shutil.rmtree(trash)
    if name in _names(library.bundles_dir):
        return f'deleting "{name}" was undone (it had not started; it is still in the library)'
    if raw is not None:
        raw.pop(name, None)
    return f'deleting "{name}" was finished'


def _free_path(path: Path) -> Path:
    """`path`, or `path (2)`, `path (3)`, ... whichever does not exist yet."""
    candidate, number = path, 2
    while candidate.exists():
        candidate, number = path.with_name(f"{path.name} ({number})"), number + 1
    return candidate


def _roll_add(library: Library, intent: journal.Intent, raw: dict | None) -> str:
    name, source = intent.data["name"], intent.data.get("source")
    staging = intent.scratch("staging")
    if staging.exists():  # it had not landed
        if source:  # it was moved in: give it back where it came from (never over a newcomer)
            back = _free_path(Path(source))
            os.replace(staging, back)
            if library.root not in back.parents:  # not an import's or export's scratch
                return f'adding "{name}" was undone; the folder is back at {back}'
        else:
            shutil.rmtree(staging)  # a copy: the original was never touched
    elif name in _names(library.bundles_dir):
        return f'adding "{name}" was finished'
    return f'adding "{name}" was undone'


def _roll_tag(library: Library, intent: journal.Intent, raw: dict | None) -> str:
    """meta.json holds the tags (it is committed first); the index follows it."""
    name = intent.data["name"]
    folder = library.bundles_dir / name
    (folder / f".{META_FILE}.{intent.id}.tmp").unlink(missing_ok=True)
    tags = read_json_file(folder / META_FILE, "bundle description").get("tags", [])
    tags = [t for t in tags if isinstance(t, str)]
    if raw is not None and name in raw:
        raw[name] = replace(raw[name], tags=tags)
    verb = "finished" if tags == intent.data.get("tags") else "undone"
    return f'tagging "{name}" was {verb}'


def _roll_scratch(kind: str) -> Callable[[Library, journal.Intent, dict | None], str]:
    """Import and export: their own add is recovered first; what is left is scratch."""

    def roll(library: Library, intent: journal.Intent, raw: dict | None) -> str:
        scratch = intent.scratch(kind)
        if scratch.exists():
            shutil.rmtree(scratch)
        what = intent.data.get("source") or f'"{intent.data.get("name")}"'
        if intent.data.get("name") in _names(library.bundles_dir):
            return f"{kind}ing {what} was finished"
        return f"the interrupted {kind} of {what} was cleaned up (run it again if it is missing)"

    return roll


def _roll_export_zip(library: Library, intent: journal.Intent, raw: dict | None) -> str:
    from sda.library.changes import export_temp

    target = Path(intent.data["target"])
    export_temp(target, intent.id).unlink(missing_ok=True)
    return f"exporting {target} was undone (run the export again)"


_ROLLERS = {
    "rename": _roll_rename,
    "delete": _roll_delete,
    "add": _roll_add,
    "tag": _roll_tag,
    "import": _roll_scratch("import"),
    "export": _roll_scratch("export"),
    "export-zip": _roll_export_zip,
}


def _restore_hidden(library: Library, folder: Path) -> str | None:
    """A bundle left under `.rename-*` by a crash without a journal (older sda): back in view,
    under its meta.json name, or as "recovered <id>" when that cannot be read (it may be damaged,
    but it is the user's: never deleted)."""
    if not any(folder.iterdir()):
        return None  # empty: the doctor lists it as a leftover
    try:
        meta = read_json_file(folder / META_FILE, "bundle description")
        name = validate_name(str(meta.get("name") or ""))
    except (BundleError, InvalidNameError):
        name = f"recovered {folder.name[len(HIDDEN_RENAME) :][:8]}"
    taken = {name_key(n) for n in _names(library.bundles_dir)}
    target, number = name, 2
    while name_key(target) in taken:
        target, number = f"{name} ({number})", number + 1
    os.replace(folder, library.bundles_dir / target)
    with contextlib.suppress(BundleError):  # a damaged meta.json stays as it is
        _set_meta_name(library.bundles_dir / target, target)
    return f'"{target}" was hidden by an interrupted rename; it is back'


def recover(library: Library) -> list[str]:
    """Roll every dead operation forward or back; what was done, one sentence each. Call under
    the library lock. An operation whose recovery fails keeps its journal for the next try."""
    try:
        raw = read_index(library.index_path) or {}
    except CorruptIndex:
        raw = None  # `_load` recovers the index itself
    claimed = (journal.claim(library.root, n) for n in journal.pending(library.root))
    intents = sorted(
        (i for i in claimed if i is not None),
        key=lambda i: _ORDER.index(i.op) if i.op in _ORDER else len(_ORDER),
    )
    done: list[str] = []
    for intent in intents:
        roll = _ROLLERS.get(intent.op)
        if roll is None:  # written by a newer sda: leave it to that version
            intent.release()
            continue
        try:
            done.append(roll(library, intent, raw))
        except (OSError, SdaError, KeyError, TypeError, ValueError) as error:
            intent.release()
            done.append(f"could not recover an interrupted {intent.op} ({error}); try again later")
            continue
        (library.root / f".{INDEX_FILE}.{intent.id}.tmp").unlink(missing_ok=True)
        intent.finish()
    live = set(journal.pending(library.root))
    for folder in _hidden_renames(library):
        if folder.name[len(HIDDEN_RENAME) :] in live:
            continue  # its journal is kept for another try
        try:
            restored = _restore_hidden(library, folder)
        except OSError as error:
            restored = f"could not bring back {folder.name} ({error}); try again later"
        if restored:
            done.append(restored)
    if done:
        entries = library._reconcile(raw) if raw is not None else library._load(locked=True)
        library._write(entries)
    return done
