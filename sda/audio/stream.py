"""Long recordings in bounded memory: a resampler that carries its state across the blocks of
`sda.audio.io.AudioBlocks`, so scanning a 3-hour field recording costs the memory of a few seconds.

`StreamResampler` gives the same samples as `sda.audio.dsp.resample` on the whole signal (to
float rounding): each block is filtered with enough neighbouring input on both sides that no
output sample sees an edge the whole-signal filter would not see.
"""

from __future__ import annotations

import math

import numpy as np

from sda.audio.dsp import rate_filter, rational_ratio, resample_by_ratio
from sda.audio.io import STREAM_BLOCK_FRAMES as BLOCK_FRAMES


class StreamResampler:
    """Polyphase resampling of a (samples,) or (channels, samples) signal fed in blocks, with
    bounded memory (a stereo scan resamples both channels in one pass).

    Output sample m of the whole-signal filter needs the input samples within the filter's half
    length of m * down / up. Input is processed in chunks that start at multiples of `down` (so
    each chunk's outputs line up with the whole signal's), each padded with `context` samples of
    its neighbours; only the input still needed is kept between calls.
    """

    def __init__(self, up: int, down: int, window: np.ndarray, *, chunk: int = BLOCK_FRAMES):
        self.up, self.down, self.window = int(up), int(down), window
        half = (len(window) - 1) // 2
        self.context = _round_up(math.ceil(half / self.up) + 1, self.down)
        self.chunk = _round_up(max(chunk, self.down), self.down)
        self._buffer: np.ndarray | None = None  # (..., n): shaped by the first block
        self._buffer_start = 0  # input index of _buffer[0]
        self._next = 0  # input index where the next chunk starts (a multiple of down)
        self.samples_in = 0
        self.samples_out = 0

    @classmethod
    def between_rates(cls, orig_rate: int, new_rate: int) -> StreamResampler:
        """The same filter `sda.audio.dsp.resample` uses for a change of sample rate."""
        up, down = rational_ratio(orig_rate, new_rate)
        return cls(up, down, rate_filter(up, down))

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed (n,) or (channels, n) samples; returns the output samples that are now final."""
        block = np.asarray(block, np.float32)
        self.samples_in += block.shape[-1]
        if self.up == self.down:
            self.samples_out += block.shape[-1]
            return block
        if self._buffer is None:
            self._buffer = block
        else:
            self._buffer = np.concatenate([self._buffer, block], axis=-1)
        outputs = []
        while self._next + self.chunk + self.context <= self.samples_in:
            outputs.append(self._run(self._next + self.chunk))
        return self._joined(outputs)

    def finish(self, total: int | None = None) -> np.ndarray:
        """The remaining output; `total` trims or zero-pads the whole output to that length."""
        out = self._joined([])
        if self.up != self.down and self._next < self.samples_in:
            out = self._run(self.samples_in)
        if total is not None:
            count = out.shape[-1]
            before = self.samples_out - count
            want = max(0, total - before)
            padding = [(0, 0)] * (out.ndim - 1) + [(0, max(0, want - count))]
            out = out[..., :want] if count >= want else np.pad(out, padding)
            self.samples_out = before + out.shape[-1]
        return out

    def _run(self, end: int) -> np.ndarray:
        """Outputs for the input chunk [_next, end), then forget the input no longer needed."""
        start = self._next
        first = max(0, start - self.context)  # a multiple of down, as start and context are
        stop = min(self.samples_in, end + self.context)
        piece = self._buffer[..., first - self._buffer_start : stop - self._buffer_start]
        out = resample_by_ratio(piece, self.up, self.down, window=self.window)
        skip = (start - first) * self.up // self.down
        # ceil: at the end of the signal, as many outputs as resample_poly gives the whole of it
        count = -(-end * self.up // self.down) - start * self.up // self.down
        self._next = end
        keep_from = max(0, end - self.context)
        self._buffer = self._buffer[..., keep_from - self._buffer_start :].copy()
        self._buffer_start = keep_from
        self.samples_out += count
        return out[..., skip : skip + count]

    def _joined(self, parts: list[np.ndarray]) -> np.ndarray:
        if parts:
            return np.concatenate(parts, axis=-1)
        lead = () if self._buffer is None else self._buffer.shape[:-1]
        return np.zeros((*lead, 0), np.float32)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
