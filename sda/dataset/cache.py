"""A disk cache of decoded audio, so a second scan of a folder (and every training run) skips decoding.

An entry is keyed by the file's resolved path, size, modification time, the target rate and the
layout (mono, or stereo for a stereo run: both entries of one file coexist). It holds a float32
`.npy` at the model rate, (samples,) for mono and (samples, 2) interleaved left/right for stereo,
read back as a (2, samples) view (read with allow_pickle=False: nothing executable; memory-mapped
by training, so memory follows the batch, not the set) and a small `.json` of facts measured on
the original file. Audio is written block by block as a long file is decoded, and
entries appear atomically, so parallel scans or training workers never see half of one. There is
no eviction: `sda data cache --clean` (or `AudioCache.clear`) reclaims the space.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from sda.atomic_files import is_disk_full
from sda.dataset.cache_space import CacheUsage, default_cache_dir
from sda.disk_full import disk_full_message, lacks_space

_VERSION = 1  # bump when the stored content changes meaning
_NPY_HEADER_BYTES = 128  # a version 1.0 header for a float32 (n,) or (n, 2) array of any length


def _atomic_write(path: Path, write) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


class AudioEntryWriter:
    """Float32 audio for one cache entry, (n,) or (2, n) blocks (`channels`), appended block by
    block into a hidden temp file.

    `commit(info)` publishes the audio and then the facts; `discard(info)` drops the audio and
    keeps only the facts (a silent file, a file with NaN). A full disk stops the writing, not
    the scan: `problem` then says what happened and the entry keeps its facts only.
    """

    def __init__(
        self, cache: AudioCache, audio_path: Path, info_path: Path, *, channels: int = 1
    ) -> None:
        self.cache, self.audio_path, self.info_path = cache, audio_path, info_path
        self.channels = int(channels)
        self.samples = 0
        self.problem = ""
        handle, temp = tempfile.mkstemp(
            prefix=f".{audio_path.name}.", suffix=".tmp", dir=audio_path.parent
        )
        self._temp = Path(temp)
        self._stream = os.fdopen(handle, "wb")
        self._stream.write(
            b"\0" * _NPY_HEADER_BYTES
        )  # the header is written once the length is known

    def write(self, block: np.ndarray) -> None:
        """Append (n,) samples, or (2, n) for a stereo entry (stored interleaved, so a long
        file streams in); after a write error (full disk) further blocks are ignored."""
        if self._stream is None:
            return
        frames = block if self.channels == 1 else block.T  # (n,) or (n, 2)
        try:
            self._stream.write(np.ascontiguousarray(frames, dtype="<f4").tobytes())
            self.samples += block.shape[-1]
        except OSError as error:
            self._fail(error)

    def commit(self, info: dict) -> None:
        """Publish the audio (if every block was written) and the facts."""
        if self._stream is not None:
            try:
                header = io.BytesIO()
                shape = (self.samples,) if self.channels == 1 else (self.samples, self.channels)
                np.lib.format.write_array_header_1_0(
                    header, {"descr": "<f4", "fortran_order": False, "shape": shape}
                )
                assert len(header.getvalue()) == _NPY_HEADER_BYTES
                self._stream.seek(0)
                self._stream.write(header.getvalue())
                self._stream.close()
                self._stream = None
                os.replace(self._temp, self.audio_path)
            except OSError as error:
                self._fail(error)
        self.cache.put_info(self.info_path, info)

    def discard(self, info: dict | None = None) -> None:
        """Drop the audio; keep `info` (facts without audio are re-decoded, never misread)."""
        self._close()
        if info is not None:
            self.cache.put_info(self.info_path, info)

    def _fail(self, error: OSError) -> None:
        self._close()
        if is_disk_full(error):
            self.problem = (
                f"{disk_full_message(self.samples * 4 * self.channels, self.cache.root)} to "
                "cache decoded audio; "
                "free some space or pass another cache folder"
            )
        else:
            self.problem = f"could not write to the cache at {self.cache.root} ({error})"

    def _close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.close()
            self._stream = None
        self._temp.unlink(missing_ok=True)


class AudioCache:
    """Decoded audio per (file, sample rate, layout); a changed file (size or mtime) is a miss.

    `channels` is 1 (mono: the key every older cache used) or 2 (left/right for stereo runs)."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def key(self, path: str | os.PathLike, sample_rate: int, channels: int = 1) -> str:
        """A hex digest naming the entry; raises OSError when the file is gone."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        ident = f"v{_VERSION}|{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{int(sample_rate)}"
        if channels == 2:  # mono keys stay those of every older cache
            ident += "|stereo"
        return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json"

    def writer(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        *,
        expected_samples: int = 0,
        channels: int = 1,
    ) -> AudioEntryWriter | str:
        """A writer for the audio of `path`, or a sentence saying why the cache cannot take it.

        `expected_samples` (0: unknown) is checked against the free space first, so a long
        recording that cannot fit is not half written.
        """
        try:
            audio_path, info_path = self._paths(self.key(path, sample_rate, channels))
            audio_path.parent.mkdir(parents=True, exist_ok=True)
            need = expected_samples * 4 * channels
            short = lacks_space(self.root, need) if expected_samples else None
            if short is not None:
                need, free = short
                return (
                    f"{disk_full_message(need, self.root, free)} to cache {Path(path).name}; "
                    "free some space or pass another cache folder"
                )
            return AudioEntryWriter(self, audio_path, info_path, channels=channels)
        except OSError as error:
            return f"could not write to the cache at {self.root} ({error.strerror or error})"

    def audio_path(
        self, path: str | os.PathLike, sample_rate: int, channels: int = 1
    ) -> Path | None:
        """Where the entry's audio would be (None when the source file is gone)."""
        try:
            return self._paths(self.key(path, sample_rate, channels))[0]
        except OSError:
            return None

    def put_info(self, info_path: Path, info: dict) -> None:
        """Store an entry's facts; best effort (a full disk only costs speed)."""
        text = json.dumps(info, sort_keys=True).encode("utf-8")
        with contextlib.suppress(OSError):
            _atomic_write(info_path, lambda stream: stream.write(text))

    def get_info(self, path: str | os.PathLike, sample_rate: int, channels: int = 1) -> dict | None:
        """The stored facts about a file, or None when it is not cached (or changed since)."""
        try:
            _, info_path = self._paths(self.key(path, sample_rate, channels))
            return json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def get_audio(
        self, path: str | os.PathLike, sample_rate: int, *, mmap: bool = False, channels: int = 1
    ) -> np.ndarray | None:
        """The cached float32 audio, (samples,) or (2, samples) for `channels=2` (a view of the
        interleaved entry), or None on a miss or a damaged entry."""
        try:
            audio_path, _ = self._paths(self.key(path, sample_rate, channels))
            audio = np.load(audio_path, allow_pickle=False, mmap_mode="r" if mmap else None)
        except (OSError, ValueError):
            return None
        if audio.dtype != np.float32:
            return None
        if channels == 1:
            return audio if audio.ndim == 1 else None
        return audio.T if audio.ndim == 2 and audio.shape[1] == channels else None

    def put(
        self,
        path: str | os.PathLike,
        sample_rate: int,
        info: dict,
        audio: np.ndarray | None = None,
        *,
        channels: int = 1,
    ) -> None:
        """Store facts (JSON-able dict) and optionally the audio, (samples,) or (2, samples) for
        `channels=2`; best effort."""
        try:
            audio_path, info_path = self._paths(self.key(path, sample_rate, channels))
            audio_path.parent.mkdir(parents=True, exist_ok=True)
            if audio is not None:
                frames = np.asarray(audio, dtype=np.float32)
                frames = frames.reshape(-1) if channels == 1 else frames.reshape(channels, -1).T
                array = np.ascontiguousarray(frames)
                _atomic_write(audio_path, lambda stream: np.save(stream, array, allow_pickle=False))
            # Facts last: an entry with facts but no audio is re-decoded, never misread.
            text = json.dumps(info, sort_keys=True).encode("utf-8")
            _atomic_write(info_path, lambda stream: stream.write(text))
        except OSError:
            pass  # a read-only or full cache disk only costs speed

    def _entries(self) -> list[Path]:
        """Every file in the entry folders (two hex digits each), leftovers included."""
        if not self.root.is_dir():
            return []
        return [
            entry for entry in self.root.glob("??/*") if entry.suffix in (".npy", ".json", ".tmp")
        ]

    def usage(self) -> CacheUsage:
        """Entries and leftovers under the root, with their sizes."""
        files = size = leftovers = leftover_size = 0
        for entry in self._entries():
            try:
                length = entry.lstat().st_size
            except OSError:
                continue
            if entry.suffix == ".tmp":
                leftovers, leftover_size = leftovers + 1, leftover_size + length
            else:
                files, size = files + 1, size + length
        return CacheUsage(self.root, files, size, leftovers, leftover_size)

    def clear(self) -> CacheUsage:
        """Delete every entry under the root; returns what was removed.

        An entry a running training has open stays on Linux and macOS until it closes it (the
        training reads on); where the system refuses (Windows), it is left for the next clean."""
        before = self.usage()
        for entry in self._entries():
            with contextlib.suppress(OSError):
                entry.unlink(missing_ok=True)
        for folder in self.root.glob("??") if self.root.is_dir() else ():
            with contextlib.suppress(OSError):  # only when empty
                folder.rmdir()
        left = self.usage()
        return CacheUsage(
            self.root,
            before.files - left.files,
            before.bytes - left.bytes,
            before.leftovers - left.leftovers,
            before.leftover_bytes - left.leftover_bytes,
        )
