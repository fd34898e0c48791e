"""Intent files: what a library operation is about to do, so a crash part-way can be finished or
undone later.

Before its first step an operation writes `<root>/.intent-<id>.json` (atomically) and holds the
lock file `.intent-<id>.lock` while it runs; after its last step it removes both. A journal whose
lock can be taken belongs to a process that died: `sda.library.recovery` rolls it forward or back.
Scratch folders carry the same id (`.staging-<id>`, `.trash-<id>`, ...).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sda.atomic_files import write_json_atomic
from sda.library.disk_space import disk_full_as_error

PREFIX = ".intent-"
FORMAT = "sda-library-intent"


@dataclass
class Intent:
    """One operation in progress: its kind (`op`), its id and the facts recovery needs."""

    root: Path
    op: str
    id: str
    data: dict[str, Any] = field(default_factory=dict)
    _lock: Any = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.root / f"{PREFIX}{self.id}.json"

    @property
    def lock_path(self) -> Path:
        return self.root / f"{PREFIX}{self.id}.lock"

    def scratch(self, kind: str) -> Path:
        """The operation's scratch folder or file in the library root, e.g. `.staging-<id>`."""
        return self.root / f".{kind}-{self.id}"

    def release(self) -> None:
        """Stop working on it but keep the journal: recovery finishes or undoes the rest."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def end(self, *, done: bool) -> None:
        """`finish` when the operation is complete or undone, else `release` for recovery."""
        if done:
            self.finish()
        else:
            self.release()

    def finish(self) -> None:
        """The last step: forget the journal (the operation is complete or fully undone)."""
        self.path.unlink(missing_ok=True)
        Path(f"{self.path}.tmp").unlink(missing_ok=True)
        self.release()
        self.lock_path.unlink(missing_ok=True)


def _file_lock(path: Path, timeout: float = 0):
    from filelock import FileLock

    return FileLock(str(path), timeout=timeout)


def begin(root: Path, op: str, **data: Any) -> Intent:
    """Write the journal of a new operation (raises `DiskFullError` if even that does not fit)."""
    with disk_full_as_error(root, 4096):
        root.mkdir(parents=True, exist_ok=True)
    intent = Intent(root=root, op=op, id=uuid.uuid4().hex, data=data)
    # A wait, not timeout=0: another process's recovery may open the fresh lock file in the
    # instant between its creation and our lock, see no journal yet, and remove it; we then
    # take the lock again once it lets go (nothing of ours existed for it to undo).
    intent._lock = _file_lock(intent.lock_path, timeout=30)
    intent._lock.acquire()
    try:
        with disk_full_as_error(root, 4096):
            record = {"format": FORMAT, "op": op, "id": intent.id, **data}
            write_json_atomic(intent.path, record, tmp_path=f"{intent.path}.tmp")
    except BaseException:
        intent.finish()
        raise
    return intent


def pending(root: Path) -> list[str]:
    """Ids of the journals and lock files in `root` (a cheap look at names only)."""
    try:
        names = [p.name for p in root.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return []
    ids = {name[len(PREFIX) :].split(".")[0] for name in names}
    return sorted(ids)


def claim(root: Path, intent_id: str) -> Intent | None:
    """The journal `intent_id` with its lock held, if its process has died; None while it runs.

    Journal-less machinery (a lock file, a temp journal) of a dead process is removed here."""
    from filelock import Timeout

    lock = _file_lock(root / f"{PREFIX}{intent_id}.lock")
    try:
        lock.acquire()
    except Timeout:
        return None  # its process is still working
    path = root / f"{PREFIX}{intent_id}.json"
    data: Any = None
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT or not data.get("op"):
        # Died before its journal was complete: it had changed nothing yet.
        Intent(root=root, op="", id=intent_id, _lock=lock).finish()
        return None
    extra = {k: v for k, v in data.items() if k not in ("format", "op", "id")}
    return Intent(root=root, op=str(data["op"]), id=intent_id, data=extra, _lock=lock)
