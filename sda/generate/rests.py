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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate.curves import ControlValue, keyframes, sample_curve

DENSITY = CONTROL_NAMES.index("density")
MIN_RATE = 0.2  # onsets/s: a setting of 0 still sounds every 5 s or so, never a silent take
SPAN_SECONDS = (0.15, 1.0)  # a sounding span's length, whatever the material's top rate says
MIN_REST_SECONDS = 0.06  # shorter rests are not heard as space: the span runs on instead
REST_JITTER = 0.2  # each rest lasts 1 +- this of its length, drawn from the take's seed


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
    centred)."""
    from sda.dna.codec_bridge import encode_audio
    from sda.generate.stereo_takes import prior_rows

    config = models.codec.config
    silence = encode_audio(models, np.zeros(4 * config.samples_per_frame, dtype=np.float32))
    grid = prior_rows(models, silence)
    return grid[:, grid.shape[1] // 2]


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
