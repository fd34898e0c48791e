"""Cutting a repeating grid's audio into a loop of an exact length that joins without a seam.

The grid is decoded as if it repeated (padded with its own other end), so the decoder hears the
wrap-around too. The loop starts at a calm point (low spectral flux, smoothest join) and its last
few ms fade into the music that precedes its start, so its last sample leads into its first. A
tempo-fitted loop is up to half a frame longer or shorter than its grid; where that cut would show
(sustained tones), the period is stretched to the exact length instead.

A stereo model's grid decodes to (2, samples): the start is chosen on its mid, its own side and
the widener's side together, and both channels are cut (or stretched) at the same place.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sda.audio.loop_resample import resample_loop
from sda.audio.seam import (
    FLUX_PERCENTILE,
    STEP_PERCENTILE,
    SeamReport,
    flux_between,
    flux_every,
    flux_window,
    measure_seam,
)
from sda.audio.spatial import decorrelated_side
from sda.dna.codes import Codes
from sda.generate.loop_length import MIN_LOOP_SECONDS, LoopError
from sda.generate.rests import release_into_rests
from sda.generate.stereo_takes import decode_take, downmix

CROSSFADE_MS = 5.0
NUDGE_MS = 1.0  # how far a loop start may move to where the join is smoothest
START_CANDIDATES = 8  # calm points tried as the loop start
PAD_FRAMES = 16  # codes of the other end decoded on each side: the decoder's context
# A tempo-fitted cut whose seam stays this far inside the measure, also through a filter with
# memory, keeps its pitch; one closer to failing is stretched to its length instead.
CUT_MARGIN = 0.8


@dataclass(frozen=True, eq=False)
class LoopCut:
    """One period of a repeating grid's audio, cut to a loop's length."""

    audio: np.ndarray  # (samples,) float32, or (2, samples) from a stereo model
    sample_rate: int
    pitch_cents: float = 0.0  # 0 when cut; the pitch change when stretched to the length

    @functools.cached_property
    def seam(self) -> SeamReport:
        """The cut's seam measure, taken when first asked for: a loop whose render then filters
        it (tone, roughness) is measured again as rendered, and this one would be wasted."""
        return measure_seam(self.audio, self.sample_rate)


def _decode_period(model, codes: Codes, pad: int) -> np.ndarray:
    """One period (frames * samples_per_frame,) of the grid played over and over, (2, ...) for
    a stereo model: decoded with `pad` frames of its other end on each side, so the decoder
    hears the wrap-around."""
    frames, spf = codes.frames, getattr(model, "codec", model).config.samples_per_frame
    order = np.arange(-pad, frames + pad) % frames
    side = None if codes.side_indices is None else np.asarray(codes.side_indices)[:, order]
    repeated = codes.with_indices(np.asarray(codes.indices)[:, order], side_indices=side)
    audio = decode_take(model, repeated)
    return audio[..., pad * spf : (pad + frames) * spf].astype(np.float64)


def _span(period: np.ndarray, start: int, count: int) -> np.ndarray:
    """`count` samples of the repeating `period` (..., samples) from `start` (any integer)."""
    return np.take(period, np.arange(start, start + count), axis=-1, mode="wrap")


def _spans(period: np.ndarray, starts: np.ndarray, count: int) -> np.ndarray:
    """`_span` of a mono `period` (samples,) from each of `starts` (rows, 1): (rows, count)."""
    return np.take(period, starts + np.arange(count), mode="wrap")


class _Yardstick:
    """A repeating signal's spectral flux at every hop and its seam limits (the 95th percentile
    of flux, the 99th of sample steps): how smoothly a cut of it must join."""

    def __init__(self, period: np.ndarray, window: int) -> None:
        self.period, self.window = period, window
        self.positions = np.arange(0, len(period), max(1, window // 4))
        extended = _span(period, -window, len(period) + 2 * window)
        self.flux = flux_every(extended, self.positions + window, window)
        self.flux_limit = max(float(np.percentile(self.flux, FLUX_PERCENTILE)), 1e-12)
        steps = np.abs(np.diff(period))
        self.step_limit = max(float(np.percentile(steps, STEP_PERCENTILE)), 1e-12)

    def margins(self, starts: np.ndarray, samples: int, fade: int) -> np.ndarray:
        """The seam margin (pass <= 1) of the loop cut at each of `starts` (only its ends are
        cut), all in one batch of spectra: a loop tries a hundred or more starts."""
        starts = np.asarray(starts, dtype=np.int64)[:, None]
        edge = max(self.window, fade)
        tails = _spans(self.period, starts + samples - edge, edge)
        if fade:
            tails[:, -fade:] = _faded(tails[:, -fade:], self.period, starts, fade)
        before = tails[:, -self.window :]
        after = _spans(self.period, starts, self.window)
        flux = flux_between(before, after)
        step = np.abs(after[:, 0] - before[:, -1])  # the loop's first sample after its last
        return np.maximum(flux / self.flux_limit, step / self.step_limit)


def _calm_points(yardsticks: list[_Yardstick], count: int) -> list[int]:
    """Up to `count` positions, at least a flux window apart, where every yardstick's signal is
    calmest (lowest flux against its own 95th percentile)."""
    first = yardsticks[0]
    score = np.max([y.flux / y.flux_limit for y in yardsticks], axis=0)
    chosen: list[int] = []
    for index in np.argsort(score, kind="stable"):
        position = int(first.positions[index])
        if all(abs(position - other) >= first.window for other in chosen):
            chosen.append(position)
        if len(chosen) == count:
            break
    return chosen


def _faded(ending: np.ndarray, period: np.ndarray, start, fade: int) -> np.ndarray:
    """A loop's last `fade` samples blended into the `fade` samples before its `start` (an
    integer; or starts (rows, 1) of a mono period, one row of `ending` each)."""
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)  # raised cosine
    before = (
        _spans(period, start - fade, fade) if np.ndim(start) else _span(period, start - fade, fade)
    )
    return ending * (1.0 - ramp) + before * ramp


def _cut(period: np.ndarray, start: int, samples: int, fade: int) -> np.ndarray:
    """`samples` of the repeating `period` from `start`, the last `fade` of them blended into the
    `fade` samples before `start`: the end then leads into the first sample as the music does."""
    loop = _span(period, start, samples)
    if fade:
        loop[..., -fade:] = _faded(loop[..., -fade:], period, start, fade)
    return loop


def _memory_margin(cut: LoopCut, rate: int) -> float:
    """The seam margin of a loop as anything with memory hears it (a widener, a reverb): a cut
    shorter or longer than its period slips the music by a few samples at the seam, which the
    loop alone hides and a filter's tail exposes. Measured on the stereo field's side signal."""
    side = decorrelated_side(downmix(cut.audio), rate, circular=True)
    return max(cut.seam.margin, measure_seam(side, rate).margin)


def _stretch(period: np.ndarray, start: int, samples: int) -> np.ndarray:
    """The repeating `period` from `start`, resampled as one period to exactly `samples`: it
    repeats as seamlessly as before, its pitch changed by the ratio of the lengths."""
    return resample_loop(np.roll(period, -start, axis=-1), 1, 1, samples=samples)


def loop_audio(
    model,
    codes: Codes,
    samples: int,
    *,
    crossfade_ms: float = CROSSFADE_MS,
    start_frame: int | None = None,
    rests: np.ndarray | None = None,
) -> LoopCut:
    """The audio of a grid that repeats (e.g. from `seamless_grid`) as a loop of `samples`, which
    may differ from the grid's length by up to one frame (a tempo-fitted length).

    The loop starts at the calm point (of a few) that joins best, or at frame `start_frame`, moved
    by up to 1 ms to where the join is smoothest, and is cut there, its last `crossfade_ms`
    blended into what precedes its start. A tempo-fitted cut slips the music by up to half a
    frame at the seam; where that comes near failing the seam measure as a filter with memory
    hears it (sustained tones; margin above CUT_MARGIN), the period is stretched to the length
    instead when that joins better, changing the pitch by at most half a frame in the loop's
    length (`pitch_cents`: 18 cents for a 1 s loop at 47 frames/s, 5 cents for a 4 s one).
    `model` is a bundle or a codec; a stereo model's loop is (2, samples). `rests` (frames,):
    where a density setting made the grid rest; each span is released into its rest
    (`sda.generate.rests`) before the cut."""
    config = getattr(model, "codec", model).config
    spf, rate = config.samples_per_frame, int(config.sample_rate)
    if abs(samples - codes.frames * spf) > spf:
        raise LoopError(
            f"A loop of {samples} samples cannot be cut from {codes.frames} code frames "
            f"({codes.frames * spf} samples); ask `loop_length` for matching samples and frames."
        )
    if samples < MIN_LOOP_SECONDS * rate:
        raise LoopError(
            f"A loop of {samples / rate:.3f} s is too short: make it at least "
            f"{MIN_LOOP_SECONDS} s long."
        )
    window, radius = flux_window(rate), round(NUDGE_MS * rate / 1000)
    fade = min(round(crossfade_ms * rate / 1000), samples // 4)
    period = _decode_period(model, codes, PAD_FRAMES)  # (samples,) or (2, samples)
    if rests is not None and rests.any():
        period = release_into_rests(period, rests, spf, rate, circular=True)
    mid = downmix(period)
    # The side signal stands for everything with memory downstream (the stereo field, a reverb):
    # the start must be calm, and the join smooth, for it too; a stereo model's own side as well.
    yardsticks = [_Yardstick(mid, window)]
    yardsticks.append(_Yardstick(decorrelated_side(mid, rate, circular=True), window))
    if period.ndim == 2:
        yardsticks.append(_Yardstick((period[0] - period[1]) / 2, window))
    if start_frame is None:
        points = _calm_points(yardsticks, START_CANDIDATES)
    else:
        points = [int(start_frame) % codes.frames * spf]
    # Around each point, the start whose join is smoothest: on a sustained tone a zero crossing
    # would be the steepest place to join, so the measure itself picks.
    nudges = np.arange(-radius, radius + 1, max(1, radius // 8))
    starts = np.array([point + int(nudge) for point in points for nudge in nudges])
    worst = np.max([y.margins(starts, samples, fade) for y in yardsticks], axis=0)
    best = int(starts[np.argmin(worst)])  # the first of equals
    cut = _as_cut(_cut(period, best, samples, fade), rate)
    if samples == period.shape[-1] or _memory_margin(cut, rate) <= CUT_MARGIN:
        return cut
    cents = 1200.0 * math.log2(period.shape[-1] / samples)
    stretch = _as_cut(_stretch(period, best, samples), rate, cents)
    return stretch if _memory_margin(stretch, rate) < _memory_margin(cut, rate) else cut


def _as_cut(loop: np.ndarray, rate: int, pitch_cents: float = 0.0) -> LoopCut:
    return LoopCut(loop.astype(np.float32), rate, pitch_cents)
