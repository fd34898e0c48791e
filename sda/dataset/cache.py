"""A disk cache of decoded audio, so a second scan of a folder (and every training run) skips decoding.

An entry is keyed by the file's resolved path, size, modification time and the target rate. It
holds a mono float32 `.npy` at the model rate (read with allow_pickle=False: nothing executable)
and a small `.json` of facts measured on the original file. Writes are atomic, so parallel
scans or training workers never see half an entry. There is no eviction: delete the folder
(default: the user cache dir, e.g. ~/.cache/sda/audio) to reclaim space.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import platformdirs

_VERSION = 1  # bump when the stored content changes meaning


def default_cache_dir() -> Path:
    """The per-user cache folder for decoded audio (~/.cache/sda/audio on Linux)."""
    return Path(platformdirs.user_cache_dir("sda")) / "audio"


def _atomic_write(path: Path, write) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


class AudioCache:
    """Decoded audio per (file, sample rate); a changed file (size or mtime) is a cache miss."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def key(self, path: str | os.PathLike, sample_rate: int) -> str:
        """A hex digest naming the entry; raises OSError when the file is gone."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        ident = f"v{_VERSION}|{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{int(sample_rate)}"
        return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json"

    def get_info(self, path: str | os.PathLike, sample_rate: int) -> dict | None:
        """The stored facts about a file, or None when it is not cached (or changed since)."""
        try:
            _, info_path = self._paths(self.key(path, sample_rate))
            return json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def get_audio(
        self, path: str | os.PathLike, sample_rate: int, *, mmap: bool = False
    ) -> np.ndarray | None:
        """The cached (samples,) float32 audio, or None on a miss or a damaged entry."""
        try:
            audio_path, _ = self._paths(self.key(path, sample_rate))
            audio = np.load(audio_path, allow_pickle=False, mmap_mode="r" if mmap else None)
        except (OSError, ValueError):
            return None
        if audio.dtype != np.float32 or audio.ndim != 1:
            return None
        return audio

    def put(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        info: dict,
        audio: np.ndarray | None = None,
    ) -> None:
        """Store facts (JSON-able dict) and optionally the (samples,) audio; best effort."""
        try:
            audio_path, info_path = self._paths(self.key(path, sample_rate))
            audio_path.parent.mkdir(parents=True, exist_ok=True)
            if audio is not None:
                array = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
                _atomic_write(audio_path, lambda stream: np.save(stream, array, allow_pickle=False))
            # Facts last: an entry with facts but no audio is re-decoded, never misread.
            text = json.dumps(info, sort_keys=True).encode("utf-8")
            _atomic_write(info_path, lambda stream: stream.write(text))
        except OSError:
            pass  # a read-only or full cache disk only costs speed

    def clear(self) -> None:
        """Delete every entry under the root."""
        if not self.root.is_dir():
            return
        for entry in self.root.glob("*/*"):
            if entry.suffix in (".npy", ".json", ".tmp"):
                entry.unlink(missing_ok=True)
