"""The density control as rests: where a take must leave space, the prior is given silence.

Conditioning alone did not move density on small sets: an undertrained prior makes a collage of
short fragments whatever it is asked (2-4 onsets/s at every setting on 40 drum one-shots, while
the material's 4 s windows hold 0-3; experiments/RESULTS.md). What it has learned well is what
follows silence: a whole hit with its attack, as every chained one-shot begins. So a density
setting lays out a rhythm of sounding spans and rests over the take: each span is as long as the
gap between hits in the busiest material (1 / the control's top rate), each period 1 / the asked
rate, and the rest of the period is silence, forced into the grid as the codes of silence while
the prior samples everything else (it hears the rests in its context, so each span starts with an
attack). Rest lengths vary by up to REST_JITTER from the seed, so the rhythm is not a metronome.

At the busy end the span fills the period and nothing is forced; a curve of settings changes the
period along the take. The physical unit is the control's own: onsets per second of the material.

The decoder renders the step from a span's codes to the codes of silence as a cut (a gated tail,
seen on the spectrograms of experiments/bench_density.py), so the render fades each span out over
its last RELEASE_SECONDS and keeps the rest silent up to the frame before the next attack: a
gate with a release, not a chop. The rests are found again in the codes (every row of a frame
the codes of silence), so a saved grid renders as the take did.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.dna.codec_bridge import encode_audio
from sda.generate.curves import ControlValue, keyframes, sample_curve
from sda.generate.stereo_takes import prior_rows

DENSITY = CONTROL_NAMES.index("density")
MIN_RATE = 0.2  # onsets/s: a setting of 0 still sounds every 5 s or so, never a silent take
SPAN_SECONDS = (0.15, 1.0)  # a sounding span's length, whatever the material's top rate says
MIN_REST_SECONDS = 0.06  # shorter rests are not heard as space: the span runs on instead
REST_JITTER = 0.2  # each rest lasts 1 +- this of its length, drawn from the take's seed
RELEASE_SECONDS = 0.1  # a span fades out over this before its rest (at most half the span)
# each codec's codes of silence, found once: a loop asks for them three times (its halves, its
# joins, its rests found again), each an encode (~15 ms of a 4 s loop's ~400 ms)
_SILENCE_COLUMNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def density_rate(value: float, stats: DescriptorStats) -> float:
    """Onsets per second a density setting (0..1) asks for, never below MIN_RATE."""
    low, high = float(stats.low[DENSITY]), float(stats.high[DENSITY])
    return max(low + float(value) * (high - low), MIN_RATE)


def span_seconds(stats: DescriptorStats) -> float:
    """How long each sounding span lasts: the gap between hits in the busiest material."""
    top = max(float(stats.high[DENSITY]), MIN_RATE)
    return float(np.clip(1.0 / top, *SPAN_SECONDS))


def rest_frames(
    value: ControlValue, stats: DescriptorStats, frames: int, frame_rate: float, seed: int
) -> np.ndarray:
    """(frames,) bool, True on the code frames the take rests for density `value` (0..1 or a
    curve of keyframes over the take). The first frame always sounds."""
    rates = sample_curve(keyframes("density", value), frames)
    span = max(1, round(span_seconds(stats) * frame_rate))
    shortest = MIN_REST_SECONDS * frame_rate
    jitter = np.random.default_rng(seed)
    rests = np.zeros(frames, dtype=bool)
    start = 0
    while start < frames:
        period = frame_rate / density_rate(float(rates[start]), stats)
        rest = (period - span) * (1.0 + REST_JITTER * jitter.uniform(-1.0, 1.0))
        if rest < shortest:  # as busy as the busiest material: nothing forced here
            start += span
            continue
        rest_from = start + span
        rest_to = min(frames, rest_from + round(rest))
        rests[rest_from:rest_to] = True
        start = rest_to
    return rests


def silence_column(models: Any) -> np.ndarray:
    """(rows,) the codes of silence in every row the prior reads (a stereo model's side: silent,
    centred); encoded once per codec."""
    column = _SILENCE_COLUMNS.get(models.codec)
    if column is None:
        config = models.codec.config
        silence = encode_audio(models, np.zeros(4 * config.samples_per_frame, dtype=np.float32))
        grid = prior_rows(models, silence)
        column = _SILENCE_COLUMNS[models.codec] = grid[:, grid.shape[1] // 2]
    return column.copy()


def known_grid(
    models: Any, controls: dict[str, ControlValue], stats: DescriptorStats | None, frames: int,
    seed: int,
) -> np.ndarray | None:  # fmt: skip
    """(rows, frames) long: the codes of silence on rest frames, -1 where the prior samples; None
    when density is not set, the model has no descriptor ranges, or nothing rests."""
    if "density" not in controls or stats is None:
        return None
    rate = float(models.codec.config.frame_rate)
    rests = rest_frames(controls["density"], stats, frames, rate, seed)
    if not rests.any():
        return None
    column = silence_column(models)
    grid = np.full((len(column), frames), -1, dtype=np.int64)
    grid[:, rests] = column[:, None]
    return grid


def resting_frames(models: Any, codes: Any) -> np.ndarray:
    """(frames,) bool: the frames of `codes` whose every row holds the codes of silence."""
    grid = prior_rows(models, codes)
    return (grid == silence_column(models)[:, None]).all(axis=0)


def release_into_rests(
    audio: np.ndarray,
    rests: np.ndarray,
    samples_per_frame: int,
    rate: int,
    *,
    circular: bool = False,
) -> np.ndarray:
    """`audio` (samples,) or (channels, samples) with each sounding span faded out over its last
    RELEASE_SECONDS (at most half the span) and silent through the rest that follows, up to a
    one-frame fade-in before the next span's attack. `circular`: one turn of a loop, whose last
    span runs into its first rest."""
    if circular and rests.any() and not rests.all():
        attacks = np.flatnonzero(~rests & np.roll(rests, 1))  # a span starting after a rest
        turn = int(attacks[0])
        rolled = np.roll(audio, -turn * samples_per_frame, axis=-1)
        released = release_into_rests(rolled, np.roll(rests, -turn), samples_per_frame, rate)
        return np.roll(released, turn * samples_per_frame, axis=-1)
    gain = np.ones(audio.shape[-1], dtype=np.float32)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], rests, [False]]).astype(np.int8)))
    span_start = 0
    for first, end in zip(edges[::2], edges[1::2], strict=True):  # each run of rest frames
        rest_from, rest_to = first * samples_per_frame, end * samples_per_frame
        if first > 0:  # a span before it fades out (a prompt may open in silence: no span)
            fade = min(int(RELEASE_SECONDS * rate), (rest_from - span_start) // 2)
            gain[rest_from - fade : rest_from] = np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
        gain[rest_from:rest_to] = 0.0
        if end < len(rests):  # the decoder's smear before the next attack fades in
            ramp = min(samples_per_frame, rest_to - rest_from)
            gain[rest_to - ramp : rest_to] = np.linspace(0.0, 1.0, ramp, dtype=np.float32)
        span_start = rest_to
    return (audio * gain).astype(audio.dtype, copy=False)
