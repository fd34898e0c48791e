"""Saving training checkpoints so a full disk (or a kill) never costs the previous one.

Lightning's own writer opens `last.ckpt` for writing before the new bytes are ready, so a full
disk or a kill mid-save leaves it truncated. This one serialises first, checks the free space,
writes a temp file beside the target, fsyncs it and renames it into place.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from sda.atomic_files import fsync_dir
from sda.disk_full import disk_full_message, is_disk_full, lacks_space
from sda.training.errors import TrainingError

_CHUNK = 16 * 1024**2  # written in pieces: a full disk stops the copy early
_TEMP_GLOB = ".*.ckpt.*.tmp"
# A save takes seconds; a temp file this old was left by a killed run, not one still writing.
STALE_SECONDS = 600


class SafeCheckpointIO(TorchCheckpointIO):
    """`TorchCheckpointIO` whose saves are all-or-nothing; a full disk is one `TrainingError`."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getbuffer()
        short = lacks_space(path.parent, data.nbytes)
        if short is not None:
            raise _disk_full(path, *short)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # _TEMP_GLOB
        try:
            with open(temp, "xb") as handle:
                for start in range(0, data.nbytes, _CHUNK):
                    handle.write(data[start : start + _CHUNK])
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as error:
            if is_disk_full(error):
                raise _disk_full(path, data.nbytes) from None
            raise
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(path.parent)


def remove_unfinished_saves(folder: Path) -> int:
    """Delete the temp files a killed run left half-written in `folder`; returns the bytes freed.

    Only files older than STALE_SECONDS go, so a second run saving into the same folder right
    now keeps its own."""
    freed = 0
    now = time.time()
    for temp in Path(folder).glob(_TEMP_GLOB):
        try:
            stat = temp.stat()
            if now - stat.st_mtime > STALE_SECONDS:
                temp.unlink()
                freed += stat.st_size
        except OSError:
            continue  # renamed or removed meanwhile
    return freed


def _disk_full(path: Path, need: int, free: int | None = None) -> TrainingError:
    return TrainingError(
        f"{disk_full_message(need, path.parent, free)} to save {path.name}; the checkpoints "
        "saved before are kept. "
        "Free some space, then run the same command again to resume"
    )
