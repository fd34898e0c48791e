"""Loop points in exported files: a WAV `smpl` chunk (written and read back here), tags elsewhere.

Samplers and DAWs read a WAV's loop from its `smpl` chunk; soundfile cannot write one, so this
module rewrites the RIFF container around the audio (every other chunk, tags included, is copied
as it is) through a temp file that replaces the original only when complete. FLAC, OGG and MP3
carry the loop as LOOPSTART / LOOPLENGTH tags in samples, the convention game engines and
players read.
"""

from __future__ import annotations

import operator
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sda.atomic_files import atomic_write
from sda.errors import SdaError

_SMPL_HEADER = struct.Struct("<9I")  # manufacturer .. sampler data size: 36 bytes
_SMPL_LOOP = struct.Struct("<6I")  # cue id, type, start, end (inclusive), fraction, play count
_MAX_RIFF = 0xFFFFFFFF
_FORWARD = 0  # loop type: play forward, over and over


class LoopPointsError(SdaError):
    """Loop points that cannot be written to or read from a file."""


@dataclass(frozen=True)
class LoopPoints:
    """A loop inside a file, in sample frames: it plays samples start .. start + length - 1."""

    start: int
    length: int

    def __post_init__(self) -> None:
        try:  # numpy integers welcome, fractions of a sample are not
            start, length = operator.index(self.start), operator.index(self.length)
        except TypeError:
            start, length = -1, 0
        if start < 0 or length < 1:
            raise LoopPointsError(
                f"Loop points {self.start} + {self.length} are not usable: the start must be a "
                "whole sample number from 0 and the length at least 1 sample."
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "length", length)

    @property
    def end(self) -> int:
        """The first sample after the loop."""
        return self.start + self.length


def loop_tags(points: LoopPoints) -> dict[str, str]:
    """The loop as tags for FLAC/OGG/MP3 (`sda.audio.tags.write_tags` keys; Vorbis comments are
    case-insensitive, so players looking for LOOPSTART / LOOPLENGTH find them)."""
    return {"loopstart": str(points.start), "looplength": str(points.length)}


@dataclass(frozen=True)
class _Chunk:
    name: bytes
    offset: int  # where its data starts in the file
    size: int  # bytes of data, without the pad byte


def _chunks(handle, path: Path) -> list[_Chunk]:
    """Every chunk of a RIFF/WAVE file, checked against the file's real size."""
    file_size = os.fstat(handle.fileno()).st_size
    header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        kind = "an RF64 (over 4 GB) WAV" if header[:4] == b"RF64" else "not a WAV file"
        raise LoopPointsError(
            f"{path} is {kind}, so sda cannot write loop points into it; export it as a plain WAV."
        )
    end = min(file_size, 8 + struct.unpack("<I", header[4:8])[0])
    chunks, position = [], 12
    while position + 8 <= end:
        handle.seek(position)
        name, size = struct.unpack("<4sI", handle.read(8))
        if position + 8 + size > file_size:
            raise LoopPointsError(
                f"{path} is damaged (its {name!r} chunk runs past the end of the file); "
                "export the sound again."
            )
        chunks.append(_Chunk(name, position + 8, size))
        position += 8 + size + (size & 1)
    names = [chunk.name for chunk in chunks]
    if b"fmt " not in names or b"data" not in names:
        raise LoopPointsError(f"{path} has no format or no audio chunk; export the sound again.")
    return chunks


def _format(handle, chunks: list[_Chunk], path: Path) -> tuple[int, int]:
    """(sample rate, sample frames) from the fmt and data chunks."""
    fmt = next(chunk for chunk in chunks if chunk.name == b"fmt ")
    handle.seek(fmt.offset)
    raw = handle.read(min(fmt.size, 16))
    if len(raw) < 16:
        raise LoopPointsError(f"{path} has a damaged format chunk; export the sound again.")
    _, _, rate, _, block_align, _ = struct.unpack("<HHIIHH", raw)
    if rate == 0 or block_align == 0:
        raise LoopPointsError(f"{path} has a damaged format chunk; export the sound again.")
    data = next(chunk for chunk in chunks if chunk.name == b"data")
    return rate, data.size // block_align


def _check_points(points: LoopPoints, frames: int, where: str) -> None:
    if points.end > frames:
        raise LoopPointsError(
            f"The loop {points.start}..{points.end} runs past the end of {where} ({frames} "
            "samples); give loop points inside the sound."
        )


def _smpl_chunk(points: Sequence[LoopPoints], rate: int, unity_note: int) -> bytes:
    period_ns = round(1e9 / rate)
    body = _SMPL_HEADER.pack(0, 0, period_ns, unity_note, 0, 0, 0, len(points), 0)
    for cue, loop in enumerate(points):
        body += _SMPL_LOOP.pack(cue, _FORWARD, loop.start, loop.end - 1, 0, 0)
    return b"smpl" + struct.pack("<I", len(body)) + body


def write_wav_loop_points(
    path: str | os.PathLike, points: LoopPoints | Sequence[LoopPoints], *, unity_note: int = 60
) -> None:
    """Write loop points into an existing WAV's `smpl` chunk, replacing any earlier loops.

    The file is rewritten beside itself and swapped in only when complete, so a crash leaves the
    old file whole. `unity_note` is the MIDI note a sampler plays the sound at unchanged."""
    path = Path(path)
    loops = [points] if isinstance(points, LoopPoints) else list(points)
    if not loops:
        raise LoopPointsError(f"No loop points given for {path}.")
    if not path.is_file():
        raise LoopPointsError(f"{path} does not exist: export the sound before adding its loop.")
    with open(path, "rb") as source:
        chunks = [chunk for chunk in _chunks(source, path) if chunk.name != b"smpl"]
        rate, frames = _format(source, chunks, path)
        for loop in loops:
            _check_points(loop, frames, str(path))
        smpl = _smpl_chunk(loops, rate, int(unity_note))
        size = 4 + sum(8 + c.size + (c.size & 1) for c in chunks) + len(smpl)
        if size > _MAX_RIFF:
            raise LoopPointsError(
                f"{path} would grow past 4 GB with its loop points; export a shorter sound."
            )
        with atomic_write(path) as target:
            target.write(b"RIFF" + struct.pack("<I", size) + b"WAVE")
            for chunk in chunks:
                source.seek(chunk.offset - 8)
                _copy(source, target, 8 + chunk.size)
                if chunk.size & 1:
                    target.write(b"\0")
            target.write(smpl)


def _copy(source, target, count: int) -> None:
    remaining = count
    while remaining:
        block = source.read(min(remaining, 1 << 20))
        if not block:
            raise OSError("the file shrank while its loop points were written")
        target.write(block)
        remaining -= len(block)


def read_wav_loop_points(path: str | os.PathLike) -> list[LoopPoints]:
    """The loops in a WAV's `smpl` chunk (empty when it has none), checked against its length."""
    path = Path(path)
    if not path.is_file():
        raise LoopPointsError(f"{path} does not exist: give the path of a WAV file.")
    with open(path, "rb") as handle:
        chunks = _chunks(handle, path)
        _, frames = _format(handle, chunks, path)
        smpl = next((chunk for chunk in chunks if chunk.name == b"smpl"), None)
        if smpl is None:
            return []
        handle.seek(smpl.offset)
        raw = handle.read(smpl.size)
    damaged = f"{path} has damaged loop points (smpl chunk); export the sound again."
    if len(raw) < _SMPL_HEADER.size:
        raise LoopPointsError(damaged)
    count = _SMPL_HEADER.unpack_from(raw)[7]
    if _SMPL_HEADER.size + count * _SMPL_LOOP.size > len(raw):
        raise LoopPointsError(damaged)
    loops = []
    for index in range(count):
        _, _, start, last, _, _ = _SMPL_LOOP.unpack_from(
            raw, _SMPL_HEADER.size + index * _SMPL_LOOP.size
        )
        if last < start or last >= frames:
            raise LoopPointsError(damaged)
        loops.append(LoopPoints(start, last - start + 1))
    return loops


def _is_riff_wave(path: Path) -> bool:
    with open(path, "rb") as handle:
        header = handle.read(12)
    return header[:4] in (b"RIFF", b"RF64") and header[8:12] == b"WAVE"


def mark_loop(path: str | os.PathLike, points: LoopPoints) -> None:
    """Write a loop into an exported file the way its format allows: a WAV gets a `smpl` chunk,
    FLAC/OGG/Opus/MP3 get LOOPSTART/LOOPLENGTH tags; other formats are refused."""
    from sda.audio.tags import TagError, write_tags

    path = Path(path)
    if not path.is_file():
        raise LoopPointsError(f"{path} does not exist: export the sound before adding its loop.")
    if _is_riff_wave(path):
        write_wav_loop_points(path, points)
        return
    try:
        write_tags(path, loop_tags(points))
    except TagError as error:
        raise LoopPointsError(
            f"{path} cannot carry loop points ({error}); export the loop as WAV, FLAC, OGG or MP3."
        ) from None


def read_loop_points(path: str | os.PathLike) -> LoopPoints | None:
    """The (first) loop of a file written by `mark_loop`, or None when it has none."""
    from sda.audio.tags import TagError, read_tags

    path = Path(path)
    if not path.is_file():
        raise LoopPointsError(f"{path} does not exist: give the path of an audio file.")
    if _is_riff_wave(path):
        loops = read_wav_loop_points(path)
        return loops[0] if loops else None
    try:
        tags = read_tags(path)
    except TagError as error:
        raise LoopPointsError(str(error)) from None
    if "loopstart" not in tags or "looplength" not in tags:
        return None
    try:
        return LoopPoints(int(tags["loopstart"]), int(tags["looplength"]))
    except ValueError:
        raise LoopPointsError(
            f"{path} has damaged loop tags (LOOPSTART {tags['loopstart']!r}, LOOPLENGTH "
            f"{tags['looplength']!r}); export the sound again."
        ) from None
