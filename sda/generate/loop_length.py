"""How long a loop is: free seconds, or bars at a tempo; in seconds, samples and code frames.

A free length is rounded to whole code frames (at most half a frame off), so the codes repeat
exactly. A tempo-fitted length is exact to the sample, because a DAW lines loops up with its bars;
its codes then cover the nearest whole number of frames and the loop is cut to the sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sda.errors import SdaError

MIN_BPM = 20.0
MAX_BPM = 400.0
MAX_BEATS_PER_BAR = 16
MIN_LOOP_FRAMES = 16  # the seam redraw needs material on both sides of the join
MIN_LOOP_SECONDS = 0.25  # and the seam measure a few 20 ms windows
MAX_LOOP_SECONDS = 600.0


class LoopError(SdaError):
    """A loop that cannot be made: a conflicting or impossible length or tempo."""


@dataclass(frozen=True)
class LoopLength:
    """One loop's length in every unit generation needs."""

    seconds: float
    samples: int  # exact length of the loop file
    frames: int  # code frames the loop's grid holds
    bars: float | None = None
    bpm: float | None = None
    beats_per_bar: int = 4

    @property
    def exact_seconds(self) -> float:
        """The length before rounding to samples: bars x beats x 60 / bpm for a tempo-fitted loop
        (an export at another rate is cut to this, so it lines up with the bars there too)."""
        if self.bars is None or self.bpm is None:
            return self.seconds
        return self.bars * self.beats_per_bar * 60.0 / self.bpm

    def describe(self) -> str:
        """E.g. "2 bars at 120 bpm = 4.000 s (192000 samples)"."""
        if self.bars is None:
            return f"{self.seconds:.3f} s ({self.samples} samples)"
        bars = f"{self.bars:g} bar{'' if self.bars == 1 else 's'}"
        metre = "" if self.beats_per_bar == 4 else f" of {self.beats_per_bar} beats"
        return f"{bars}{metre} at {self.bpm:g} bpm = {self.seconds:.3f} s ({self.samples} samples)"


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def loop_length(
    *,
    sample_rate: int,
    samples_per_frame: int,
    seconds: float | None = None,
    bars: float | None = None,
    bpm: float | None = None,
    beats_per_bar: int = 4,
) -> LoopLength:
    """The length of a loop from `seconds`, or from `bars` at `bpm` (never both), for a codec of
    `sample_rate` and `samples_per_frame`; raises `LoopError` with one clear message per problem."""
    if seconds is not None and (bars is not None or bpm is not None):
        raise LoopError(
            "A loop's length is either --seconds or --bars with --bpm, not both: "
            "drop --seconds to fit the loop to a tempo, or drop --bars/--bpm."
        )
    if seconds is None and bars is None and bpm is None:
        raise LoopError("A loop needs a length: give --seconds S, or --bars N with --bpm B.")
    if seconds is None and (bars is None or bpm is None):
        given, missing = ("--bars", "--bpm") if bpm is None else ("--bpm", "--bars")
        raise LoopError(
            f"{given} needs {missing} too: a tempo-fitted loop lasts N bars at B beats per minute."
        )
    frame_rate = sample_rate / samples_per_frame
    if seconds is not None:
        if not (_finite(seconds) and seconds > 0):
            raise LoopError(f"--seconds must be a positive number of seconds, got {seconds}.")
        frames = max(1, round(seconds * frame_rate))
        length = LoopLength(frames / frame_rate, frames * samples_per_frame, frames)
    else:
        length = _tempo_length(bars, bpm, beats_per_bar, sample_rate, samples_per_frame)
    shortest = max(MIN_LOOP_FRAMES / frame_rate, MIN_LOOP_SECONDS)
    if length.frames < MIN_LOOP_FRAMES or length.seconds < MIN_LOOP_SECONDS:
        raise LoopError(
            f"A loop of {length.seconds:.3f} s is shorter than this model's shortest loop, "
            f"{shortest:.3f} s (at least {MIN_LOOP_FRAMES} code frames are needed to join its "
            "end to its start): make it longer."
        )
    if length.seconds > MAX_LOOP_SECONDS:
        raise LoopError(
            f"A loop of {length.seconds:.0f} s is longer than {MAX_LOOP_SECONDS:.0f} s: "
            "make it shorter."
        )
    return length


def _tempo_length(bars, bpm, beats_per_bar, sample_rate, samples_per_frame) -> LoopLength:
    if not (_finite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise LoopError(
            f"--bpm {bpm} is not a usable tempo: give {MIN_BPM:g} to {MAX_BPM:g} beats per minute."
        )
    if not (_finite(bars) and bars > 0):
        raise LoopError(f"--bars must be more than 0 (e.g. 1, 2, 4), got {bars}.")
    if not (isinstance(beats_per_bar, int) and 1 <= beats_per_bar <= MAX_BEATS_PER_BAR):
        raise LoopError(
            f"beats per bar must be a whole number from 1 to {MAX_BEATS_PER_BAR}, "
            f"got {beats_per_bar}."
        )
    seconds = bars * beats_per_bar * 60.0 / bpm
    samples = max(1, round(seconds * sample_rate))
    frames = max(1, round(samples / samples_per_frame))
    return LoopLength(
        samples / sample_rate, samples, frames, float(bars), float(bpm), beats_per_bar
    )
