"""What the explorer may hand to a browser: takes and exports from its work folder, never the library.

The library holds weights, the index and presets; none of it is served. A bundle's preview is
copied into the work folder first, so only that copy is reachable.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

from sda.app.state import AppContext

PREVIEWS_DIR = "library-previews"


def allowed_paths(ctx: AppContext) -> list[str]:
    """Folders Gradio may serve files from: only the app's work folder (takes, exports)."""
    return [str(Path(ctx.work_dir).resolve())]


def blocked_paths(ctx: AppContext) -> list[str]:
    """Folders Gradio must never serve, even if a path inside them is asked for by name."""
    return [str(Path(ctx.library.root).resolve())]


def public_copy(ctx: AppContext, path: str | Path | None) -> str | None:
    """A copy of a library file (a preview) in the work folder, safe to serve; None if no file.

    The copy is named after the source path and its modification time, so a re-exported
    preview gets a fresh copy and repeated views reuse one.
    """
    if path is None or not Path(path).is_file():
        return None
    source = Path(path).resolve()
    stamp = f"{source}:{source.stat().st_mtime_ns}".encode()
    name = hashlib.sha256(stamp).hexdigest()[:16] + source.suffix
    target = Path(ctx.work_dir) / PREVIEWS_DIR / name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{uuid.uuid4().hex[:8]}-{name}.part")
        shutil.copyfile(source, partial)
        partial.replace(target)  # whole or absent: another request may read it meanwhile
    return str(target)
