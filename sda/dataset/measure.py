"""One pass over a recording, block by block: the facts its verdict needs, and its audio at the
model rate for the cache (mono, or left/right for a stereo run). Memory stays that of a few blocks
whatever the file's length.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from sda.audio.io import AudioBlocks, AudioFileError, convert_channels
from sda.audio.stream import StreamResampler

SILENCE_PEAK = 10 ** (-70 / 20)  # a file whose loudest sample is below -70 dBFS counts as silent
_CLIP_LEVEL = 0.999
_CLIP_RUN = 4  # this many equal samples in a row at full scale look like a flat-topped clip


class AudioSink(Protocol):
    """Where the audio goes, (n,) or (2, n) blocks: a cache entry or memory."""

    def write(self, block: np.ndarray) -> None: ...


class MemorySink:
    """Collects the blocks; `audio()` joins them into one (samples,) or (2, samples) array."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(np.array(block, dtype=np.float32))

    def audio(self) -> np.ndarray:
        blocks = [block for block in self.blocks if block.size]  # a resampler's empty tail is 1-D
        return np.concatenate(blocks, axis=-1) if blocks else np.zeros(0, np.float32)


class _ClipCounter:
    """Counts runs of _CLIP_RUN equal samples at full scale, across block boundaries."""

    def __init__(self) -> None:
        self.runs = 0
        self._tail: np.ndarray | None = None  # the previous block's last _CLIP_RUN - 1 samples

    def add(self, block: np.ndarray) -> None:  # block: (channels, n)
        joined = block if self._tail is None else np.concatenate([self._tail, block], axis=1)
        self._tail = joined[:, -(_CLIP_RUN - 1) :]
        at_full_scale = (joined >= _CLIP_LEVEL) | (joined <= -_CLIP_LEVEL)
        if joined.shape[1] < _CLIP_RUN or not at_full_scale.any():
            return
        # Every window here holds at least one pair of samples the last block did not: none is
        # counted twice, and a run that straddles two blocks is still found.
        repeats = at_full_scale[:, 1:] & (joined[:, 1:] == joined[:, :-1])  # (channels, n-1)
        windows = np.lib.stride_tricks.sliding_window_view(repeats, _CLIP_RUN - 1, axis=-1)
        self.runs += int(windows.all(axis=-1).sum())


def measure_file(
    path: Path,
    sample_rate: int,
    sink: AudioSink | Callable[[AudioBlocks], AudioSink | None] | None = None,
    *,
    channels: int = 1,
) -> tuple[dict, bool]:
    """Read `path` once -> (facts, has_audio); the audio at `sample_rate` goes to `sink`, mixed
    to mono ((n,) blocks) or, with `channels=2`, as left/right ((2, n) blocks: a mono file
    centred, 3+ channels folded by `sda.audio.io.convert_channels`).

    `sink` may also be a function of the opened file (its header: rate, declared length) that
    returns the sink, or None to measure only. Facts are what a verdict needs: native rate,
    channels, seconds, finite, peak, clipped runs, truncated; or {"error": reason} for a file
    that cannot be read. `has_audio` is False for a silent file or one with NaN/inf (whatever
    reached the sink is then to be thrown away).
    """
    try:
        with AudioBlocks(path) as blocks:
            if callable(sink) and not hasattr(sink, "write"):
                sink = sink(blocks)
            facts, has_audio = _read(blocks, sample_rate, sink, channels)
    except AudioFileError as error:
        return {"error": error.reason}, False
    return facts, has_audio


def _read(
    blocks: AudioBlocks, sample_rate: int, sink: AudioSink | None, channels: int
) -> tuple[dict, bool]:
    low, high = math.inf, -math.inf
    finite = True
    clips = _ClipCounter()
    resampler = StreamResampler.between_rates(blocks.sample_rate, sample_rate) if sink else None
    for block in blocks:
        block_low, block_high = float(block.min()), float(block.max())  # NaN/inf show up here
        if finite and not (math.isfinite(block_low) and math.isfinite(block_high)):
            finite, resampler = False, None  # nothing of this file is kept
        if not finite:
            continue  # still read on: the length is a fact the report shows
        low, high = min(low, block_low), max(high, block_high)
        clips.add(block)
        if resampler is not None:
            if channels == 1:
                sink.write(resampler.push(block.mean(axis=0, dtype=np.float32)))
            else:
                sink.write(resampler.push(convert_channels(block, 2)))
    peak = max(high, -low) if finite else 0.0
    if resampler is not None and finite:
        target = int(round(blocks.frames * sample_rate / blocks.sample_rate))
        sink.write(resampler.finish(target))
    facts = {
        "sample_rate": blocks.sample_rate,
        "channels": blocks.channels,
        "seconds": blocks.seconds,
        "finite": finite,
        "peak": peak,
        "clipped_runs": clips.runs if finite else 0,
        "truncated": blocks.truncated,
    }
    return facts, finite and peak >= SILENCE_PEAK
