"""Reading and writing audio files (wav, aiff, flac, ogg, opus, mp3) through soundfile.

Arrays are numpy float32 shaped (channels, samples). Every failure becomes one `AudioFileError`
that names the file and says in plain words what is wrong with it.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from sda.atomic_files import free_bytes, fsync_dir
from sda.disk_full import disk_full_message, is_disk_full, lacks_space
from sda.errors import SdaError

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".aif", ".aiff", ".flac", ".ogg", ".opus", ".mp3"}
)

# extension -> (soundfile format, default subtype when writing)
_WRITE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_24"),
    ".aif": ("AIFF", "PCM_24"),
    ".aiff": ("AIFF", "PCM_24"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_AUDIO_MAGIC = (b"RIFF", b"RF64", b"FORM", b"fLaC", b"OggS", b"ID3")
# Whole-file reads (encoding a sound, an app upload, a preview) hold the file in memory; longer
# files are refused with this cap named. Training and `sda data inspect` stream any length.
MAX_READ_MINUTES = 30.0
MAX_READ_MINUTES_VARIABLE = "SDA_MAX_READ_MINUTES"
_BLOCK_FRAMES = 1 << 14  # a decoding error mid-file loses at most this many frames
STREAM_BLOCK_FRAMES = 1 << 16  # ~1.4 s at 48 kHz: bounds a streamed read's memory, stays fast


class AudioFileError(SdaError):
    """An audio file could not be read or written; `.path` and `.reason` say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str, hint: str = "") -> None:
        self.path = Path(path)
        self.reason = reason
        message = f"{self.path}: {reason}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


@dataclass(frozen=True)
class DecodedAudio:
    """A file's audio exactly as stored: native rate and channel layout."""

    audio: np.ndarray  # (channels, samples) float32
    sample_rate: int
    format: str  # soundfile's name, e.g. "WAV"
    subtype: str  # e.g. "PCM_24"
    truncated: bool  # the file ends before its header says it should; what was there is kept

    @property
    def channels(self) -> int:
        return int(self.audio.shape[0])

    @property
    def seconds(self) -> float:
        return self.audio.shape[1] / self.sample_rate


def _sniff_failure(path: Path, detail: str) -> AudioFileError:
    """Explain why soundfile refused a file, judging by its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    looks_like_audio = head.startswith(_AUDIO_MAGIC) or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # MPEG frame sync
    )
    if looks_like_audio:
        if path.stat().st_size <= 128:
            return AudioFileError(path, "header only: the file holds no audio data")
        return AudioFileError(
            path,
            f"corrupt or unsupported audio data ({detail})",
            "if it plays elsewhere, convert it to .wav or .flac",
        )
    try:
        text = head.decode("utf-8")
        if all(ch.isprintable() or ch.isspace() for ch in text):
            return AudioFileError(path, "not audio: it is a text file with an audio file name")
    except UnicodeDecodeError:
        pass
    return AudioFileError(path, "not audio: the file format is not recognised")


def header_promises_more(path: Path, fmt: str) -> bool:
    """True when a WAV/AIFF container declares more bytes than the file has (a cut-off copy)."""
    if fmt not in ("WAV", "AIFF"):
        return False
    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) < 8:
        return False
    declared = struct.unpack("<I" if fmt == "WAV" else ">I", head[4:8])[0]
    if declared in (0, 0xFFFFFFFF):  # streaming writers leave the size unknown
        return False
    return declared + 8 > path.stat().st_size


def open_sound_file(path: str | os.PathLike) -> sf.SoundFile:
    """soundfile's handle on `path`, or one `AudioFileError` saying plainly why it cannot be read."""
    path = Path(path)
    if not path.exists():
        if path.is_symlink():  # exists() follows the link: it points nowhere, or at itself
            target = os.readlink(path)
            raise AudioFileError(path, f"broken link: it points to {target}, which cannot be read")
        raise AudioFileError(path, "file not found")
    if path.is_dir():
        raise AudioFileError(path, "this is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "empty file (0 bytes)")
    try:
        with open(path, "rb"):
            pass
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError) as error:
        detail = getattr(error, "error_string", "") or str(error)
        raise _sniff_failure(path, detail.strip().rstrip(".")) from error
    except OSError as error:
        raise AudioFileError(path, f"cannot be opened ({error.strerror or error})") from error


class AudioBlocks:
    """A file's audio at its native rate and layout, as (channels, n) float32 blocks.

    Open it in a `with` block; iterate once. Each block is a fresh array. After the iteration,
    `frames` counts what was read and `truncated` says whether the file ended early (a cut-off
    copy, or damage part way: what came before the damage is kept, as `decode_audio` does).
    """

    def __init__(self, path: str | os.PathLike, *, block_frames: int = STREAM_BLOCK_FRAMES) -> None:
        self.path = Path(path)
        self.block_frames = int(block_frames)
        self._handle = open_sound_file(self.path)
        self.sample_rate = int(self._handle.samplerate)
        self.channels = int(self._handle.channels)
        self.format = self._handle.format
        self.subtype = self._handle.subtype
        self.declared_frames = int(self._handle.frames)  # a guess for compressed formats
        self.frames = 0
        self.truncated = False

    def __enter__(self) -> AudioBlocks:
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            try:
                block = self._handle.read(self.block_frames, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as error:
                if self.frames == 0:
                    raise AudioFileError(
                        self.path, "corrupt audio data: decoding failed at the start"
                    ) from error
                self.truncated = True  # keep what came before the damage
                break
            if len(block) == 0:
                break
            self.frames += len(block)
            yield np.ascontiguousarray(block.T)  # (channels, n)
        if self.frames == 0:
            raise AudioFileError(self.path, "header only: the file holds no audio samples")
        declared = self.declared_frames
        # Compressed decoders may differ from the declared length by a few frames; a cut-off
        # file by far more.
        shorter = 0 < declared < (1 << 62) and self.frames < 0.99 * declared
        self.truncated = self.truncated or shorter or header_promises_more(self.path, self.format)


def max_read_minutes() -> float:
    """The whole-file read cap in minutes: SDA_MAX_READ_MINUTES when set to a positive number."""
    try:
        minutes = float(os.environ.get(MAX_READ_MINUTES_VARIABLE, MAX_READ_MINUTES))
    except ValueError:
        return MAX_READ_MINUTES
    return minutes if minutes > 0 else MAX_READ_MINUTES


def _too_long(path: Path, frames: int, rate: int) -> AudioFileError:
    cap = max_read_minutes()
    return AudioFileError(
        path,
        f"{frames / rate / 60:.0f} minutes or more long; a sound read whole (to encode, upload or "
        f"preview) may be at most {cap:g} minutes: cut out the part you want, or set "
        f"{MAX_READ_MINUTES_VARIABLE} to allow more (training reads files of any length)",
    )


def decode_audio(path: str | os.PathLike) -> DecodedAudio:
    """Read a whole file at its native rate and layout; a cut-off file keeps the audio it has."""
    path = Path(path)
    with AudioBlocks(path, block_frames=_BLOCK_FRAMES) as blocks:
        rate, declared = blocks.sample_rate, blocks.declared_frames
        most = int(max_read_minutes() * 60 * rate)
        if 0 < declared < (1 << 62) and declared > most:
            raise _too_long(path, declared, rate)  # before allocating for it
        # Fill one preallocated (channels, samples) array block by block: a long recording then
        # costs its own size in memory, not three copies of it.
        capacity = declared if 0 < declared < (1 << 34) else _BLOCK_FRAMES
        audio = np.empty((blocks.channels, capacity), np.float32)
        filled = 0
        for block in blocks:
            count = block.shape[1]
            if filled + count > most:  # the header under-declared a very long file
                raise _too_long(path, filled + count, rate)
            if filled + count > audio.shape[1]:  # the header under-declared the length
                audio = np.concatenate([audio, np.empty_like(audio)], axis=1)
            audio[:, filled : filled + count] = block
            filled += count
    if filled < audio.shape[1]:
        audio = np.ascontiguousarray(audio[:, :filled])
    return DecodedAudio(
        audio=audio,  # (channels, samples)
        sample_rate=int(rate),
        format=blocks.format,
        subtype=blocks.subtype,
        truncated=blocks.truncated,  # cut off, or damaged part way: what came before is kept
    )


def load_audio_with_rate(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a file at its native rate and channel layout -> ((channels, samples) float32, rate)."""
    decoded = decode_audio(path)
    return decoded.audio, decoded.sample_rate


def convert_channels(audio: np.ndarray, channels: int | None) -> np.ndarray:
    """Change the channel layout of (channels, samples) audio.

    1 mixes down to mono; 2 duplicates mono, keeps stereo, and folds more channels into left
    (even-numbered) and right (odd-numbered) averages; None keeps the layout.
    """
    have = audio.shape[0]
    if channels is None or channels == have:
        return audio
    if channels == 1:
        return audio.mean(axis=0, keepdims=True, dtype=np.float32)
    if channels == 2:
        if have == 1:
            return np.repeat(audio, 2, axis=0)
        return np.stack([audio[0::2].mean(axis=0), audio[1::2].mean(axis=0)]).astype(np.float32)
    raise ValueError(f"channels must be 1, 2 or None, not {channels}")


def load_audio(
    path: str | os.PathLike, *, sample_rate: int | None = 48000, channels: int | None = 1
) -> np.ndarray:
    """Read a file as float32 (channels, samples) at `sample_rate` (None: the file's own rate)."""
    decoded = decode_audio(path)
    audio = convert_channels(decoded.audio, channels)
    if sample_rate is not None and sample_rate != decoded.sample_rate:
        from sda.audio.dsp import resample  # torch/scipy only when a conversion is needed

        audio = resample(audio, decoded.sample_rate, sample_rate)
    return audio


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    format: str | None = None,
    compression: float | None = None,
    tags: Mapping[str, Any] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write (channels, samples) or (samples,) audio atomically: a reader never sees half a file.

    The format comes from the extension unless given; the default subtype is 24-bit PCM for
    wav/aiff/flac. Float audio is clipped to [-1, 1] for integer subtypes instead of wrapping
    around; integer audio is written as PCM codes as they are (int16, or int32 left-aligned), for
    callers that quantise with dither themselves. `compression` is soundfile's level for lossy
    codecs (0 = best), `tags` are written into the file before it appears (`sda.audio.tags`), and
    `overwrite=False` never replaces an existing file, even one that appears meanwhile.
    """
    path = Path(path)
    fmt, subtype = _write_format(path, format, subtype)
    audio = _checked_frames(path, audio)
    if subtype == "OPUS" and sample_rate not in _OPUS_RATES:
        raise AudioFileError(
            path, f"Opus cannot store {sample_rate} Hz audio", "resample to 48000 Hz first"
        )
    if audio.dtype == np.float32 and not (subtype or "").startswith(("FLOAT", "DOUBLE")):
        audio = np.clip(audio, -1.0, 1.0)
    if not sf.check_format(fmt, subtype):
        raise AudioFileError(path, f"soundfile cannot write {fmt} with subtype {subtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    need = _file_bytes(audio, subtype)
    if subtype in _PCM_BYTES and (short := lacks_space(path.parent, need)) is not None:
        raise _disk_full(path, *short)  # the size is known: say so before writing a byte
    temp = _create_temp(path)
    try:
        frames = audio.T  # (samples, channels)
        with sf.SoundFile(
            temp, "w", int(sample_rate), audio.shape[0], subtype, format=fmt,
            compression_level=compression,
        ) as out:  # fmt: skip
            # In blocks: libvorbis puts a whole write's buffer on the stack and segfaults on
            # long writes (python-soundfile #396, libsndfile #1095).
            for start in range(0, len(frames), _BLOCK_FRAMES):
                out.write(frames[start : start + _BLOCK_FRAMES])
        if tags is not None:
            from sda.audio.tags import write_tags

            write_tags(temp, dict(tags))
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        _publish(temp, path, overwrite)
    except (sf.LibsndfileError, RuntimeError, OSError, SdaError) as error:
        if is_disk_full(error) or _out_of_space(temp, need):
            raise _disk_full(path, need) from None
        if isinstance(error, AudioFileError):
            raise
        raise AudioFileError(path, f"could not be written ({error})") from error
    finally:
        if temp.exists():
            temp.unlink()
    fsync_dir(path.parent)
    return path


# bytes per sample of the subtypes whose size is known before writing (compressed ones are not)
_PCM_BYTES = {
    "PCM_S8": 1,
    "PCM_U8": 1,
    "PCM_16": 2,
    "PCM_24": 3,
    "PCM_32": 4,
    "FLOAT": 4,
    "DOUBLE": 8,
}
_HEADER_BYTES = 64 * 1024  # header, tags, a loop chunk


def _file_bytes(audio: np.ndarray, subtype: str | None) -> int:
    """The file's size for PCM subtypes; for compressed ones an upper bound (16-bit PCM)."""
    return int(audio.size) * _PCM_BYTES.get(subtype or "", 2) + _HEADER_BYTES


def _disk_full(path: Path, need: int, free: int | None = None) -> AudioFileError:
    return AudioFileError(
        path,
        disk_full_message(need, path.parent, free),
        "nothing was written; free some space or choose another folder",
    )


def _out_of_space(temp: Path, need: int) -> bool:
    """Whether a failed write ran out of space: libsndfile says only "System error.", so judge
    by the room left (what the half-written temp file holds counts as room)."""
    try:
        written = temp.stat().st_size if temp.exists() else 0
        return free_bytes(temp.parent) + written < need
    except OSError:
        return False


def _write_format(path: Path, format: str | None, subtype: str | None) -> tuple[str, str | None]:
    """(soundfile format, subtype) from the arguments or the extension."""
    suffix = path.suffix.lower()
    default_format, default_subtype = _WRITE_FORMATS.get(suffix, (None, None))
    fmt = (format or default_format or "").upper()
    if not fmt:
        raise AudioFileError(
            path,
            f"unknown audio extension {suffix or '(none)'!r}",
            "use .wav, .flac, .aiff, .ogg, .opus or .mp3",
        )
    subtype = subtype or (default_subtype if fmt == default_format else None)
    return fmt, (subtype or "").upper() or None


def _checked_frames(path: Path, audio: np.ndarray) -> np.ndarray:
    """(channels, samples): float32, or integer PCM codes kept as they are; no NaN or inf."""
    audio = np.asarray(audio)
    if audio.dtype not in (np.int16, np.int32):
        audio = audio.astype(np.float32, copy=False)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] > 64:
        raise ValueError(f"audio must be (channels, samples) or (samples,), got {audio.shape}")
    if audio.dtype == np.float32 and not np.isfinite(audio).all():
        raise AudioFileError(path, "refusing to write audio that contains NaN or infinite samples")
    return audio


def _create_temp(path: Path) -> Path:
    """A new hidden file beside `path`, so the final rename is atomic and scans skip it meanwhile.

    O_EXCL on a random name; mode 0o666 so the umask applies as for any new file."""
    temp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise AudioFileError(
            path,
            f"cannot write in {path.parent} ({error.strerror or error})",
            "choose another folder",
        ) from None
    return temp


def _publish(temp: Path, path: Path, overwrite: bool) -> None:
    """Rename the finished temp file into place; without `overwrite` never clobber a file."""
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # fails if the name was taken meanwhile
    except FileExistsError:
        raise AudioFileError(path, "already exists", "choose another name") from None
    except OSError:  # file systems without hard links
        if path.exists():
            raise AudioFileError(path, "already exists", "choose another name") from None
        os.replace(temp, path)
