"""Finding the audio files under a folder: linked folders are followed, each real folder entered
once (a symlink loop ends with a note instead of a hang), unreadable folders reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sda.audio.io import AUDIO_EXTENSIONS


@dataclass
class FolderWalk:
    """Audio candidates (sorted), what was ignored, and notes on folders that were not entered."""

    candidates: list[Path] = field(default_factory=list)
    hidden: int = 0  # hidden files and folders (a folder counts once)
    other: int = 0  # files whose extension is not audio
    notes: list[str] = field(default_factory=list)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)  # follows links: the real folder
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def walk_folder(folder: Path) -> FolderWalk:
    """Every file under `folder` with an audio extension; hidden files and folders are skipped."""
    found = FolderWalk()
    seen = {_identity(str(folder)): folder}

    def unreadable(error: OSError) -> None:
        found.notes.append(
            f"could not open the folder {error.filename} ({error.strerror or error}): "
            "its files were not scanned; check its permissions"
        )

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=True):
        found.hidden += sum(name.startswith(".") for name in dirs)
        entered = []
        for name in sorted(name for name in dirs if not name.startswith(".")):
            path = os.path.join(root, name)
            identity = _identity(path)
            if identity is not None and identity in seen:
                found.notes.append(
                    f"not entered {path}: it leads to {seen[identity]}, which is scanned "
                    "already (a symlink loop or a second link to the same folder)"
                )
                continue
            seen[identity] = Path(path)
            entered.append(name)
        dirs[:] = entered
        for name in names:
            if name.startswith("."):
                found.hidden += 1
            elif Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                found.candidates.append(Path(root) / name)
            else:
                found.other += 1
    found.candidates.sort()
    return found
