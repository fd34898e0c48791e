"""Rendering a take: its decoded audio brought to the level asked for, by a gain on the float audio.

Loudness is a level, so it is set with a gain rather than hoped for from the codes: a loudness
control sets the take's level (a curve shapes it over time); without one the take's peak is
brought to the training files' median peak, when the bundle recorded it. The gain is applied to
the audio the steering already decoded, so a take is decoded once. A stereo take (2, samples) is
measured on its mid and gets one gain for both channels, so its image stays as decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sda.audio.descriptors import DescriptorStats, measure
from sda.dna.codes import Codes
from sda.dna.take import Take
from sda.generate.curves import ControlValue, keyframes, sample_curve
from sda.generate.limiter import limit_peaks
from sda.generate.loudness_range import loudness_db, loudness_range_db
from sda.generate.rests import release_into_rests, resting_frames
from sda.generate.roughness import set_roughness
from sda.generate.steering import bundle_stats, stats_record
from sda.generate.stereo_takes import decode_take
from sda.generate.tone import set_tone

MAX_GAIN_DB = 24.0
PEAK_CEILING = 0.89  # -1 dBFS: room for resampling and lossy encoders at export
SILENCE_DBFS = -70.0  # a take peaking below this is silence (or decoder hiss): never raised
MATERIAL_LEVEL_KEY = "material_level"  # in the descriptor stats (sda/training/prior_data.py)


def loudness_gain_db(
    audio: np.ndarray,
    sample_rate: int,
    target: float,
    stats: DescriptorStats,
    *,
    max_gain_db: float | None = None,
) -> float:
    """The gain (dB) that brings `audio` to the loudness control's `target` (0..1), a level in
    the musical range of `sda.generate.loudness_range`.

    No cap by default: a quiet take still reaches the level asked for (`set_level` then keeps
    the peak below PEAK_CEILING); a take peaking below SILENCE_DBFS is silence and stays so.
    """
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 10.0 ** (SILENCE_DBFS / 20.0):
        return 0.0
    gain = loudness_db(target, stats) - measure(audio, sample_rate)["loudness"]
    return float(gain if max_gain_db is None else np.clip(gain, -max_gain_db, max_gain_db))


def material_peak_dbfs(models: Any) -> float | None:
    """The training files' median peak (dBFS) a bundle carries, if its prior recorded it.

    Bundles exported before the level was recorded have none; their takes keep the decoded level.
    """
    stats = stats_record(models) or {}
    level = stats.get(MATERIAL_LEVEL_KEY)
    peak = level.get("peak_dbfs") if isinstance(level, Mapping) else None
    if not isinstance(peak, int | float) or not np.isfinite(peak):
        return None
    return float(peak)


def material_gain_db(
    audio: np.ndarray, peak_dbfs: float, *, max_gain_db: float = MAX_GAIN_DB
) -> float:
    """The gain (dB) that brings the take's peak to `peak_dbfs`, the material's median peak.

    The prior learns from quieter copies and the codec loses level on attacks, so a free take
    comes out well below its material; one gain for the whole take keeps its dynamics. The target
    never exceeds PEAK_CEILING and a take below SILENCE_DBFS is left alone.
    """
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 10.0 ** (SILENCE_DBFS / 20.0):
        return 0.0
    target = min(float(peak_dbfs), 20.0 * np.log10(PEAK_CEILING))
    return float(np.clip(target - 20.0 * np.log10(peak), -max_gain_db, max_gain_db))


def _loudness_envelope(
    audio: np.ndarray, rate: int, target: ControlValue, stats: DescriptorStats
) -> np.ndarray:
    """The gain envelope (samples,) in dB that sets `audio` ((samples,) or (2, samples): one
    envelope for both channels) to the loudness control."""
    curve = sample_curve(keyframes("loudness", target), audio.shape[-1])
    level = float(curve.mean())
    gain = loudness_gain_db(audio, rate, level, stats)
    low, high = loudness_range_db(stats)
    return gain + (curve - level) * (high - low)


def set_level(
    models: Any, audio: np.ndarray, controls: Mapping[str, ControlValue] | None = None
) -> np.ndarray:
    """Decoded audio (samples,) or stereo (2, samples) at the level asked for; a bundle lacking
    what the level needs (descriptor statistics, the material's level) leaves it as decoded.

    With a loudness control the take's mean level is set to the curve's mean and then shaped by
    the curve (the control's 0..1 range is a range of dB, so the curve is a gain envelope in dB).
    Without one, the take's peak is brought to the training files' median peak. A take that gets
    a gain never peaks above PEAK_CEILING: with a loudness control its peaks over the ceiling
    are limited first (at most `limiter.MAX_REDUCTION_DB`), then the whole take is turned down
    by what is left. Both channels of a stereo take get the same gain.
    """
    audio = np.asarray(audio, dtype=np.float32)
    target = (controls or {}).get("loudness")
    if target is not None:
        stats = bundle_stats(models)
        if stats is None:
            return audio
        rate = int(models.codec.config.sample_rate)
        envelope_db = _loudness_envelope(audio, rate, target, stats)
    else:
        peak_dbfs = material_peak_dbfs(models)
        if peak_dbfs is None:
            return audio
        envelope_db = material_gain_db(audio, peak_dbfs)
    out = audio * (10.0 ** (np.asarray(envelope_db) / 20.0)).astype(np.float32)
    if target is not None:  # a level asked for: the peaks over the ceiling are limited first
        out = limit_peaks(out, int(models.codec.config.sample_rate), PEAK_CEILING)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > PEAK_CEILING:
        out *= np.float32(PEAK_CEILING / peak)
    return out.astype(np.float32)


def render_take(
    models: Any,
    codes: Codes,
    controls: Mapping[str, ControlValue] | None = None,
) -> Take:
    """The `Take` of a generated grid: decoded once, its spans released
    into density's rests (`sda.generate.rests`), its roughness (`sda.generate.roughness`), tone
    (`sda.generate.tone`) and level set; a stereo model's take is (2, samples)."""
    audio = decode_take(models, codes)  # a bundle: its id is known, the check is cheap
    if "density" in (controls or {}):  # a sparse take's spans fade out into their rests
        config = models.codec.config
        rests = resting_frames(models, codes)
        if rests.any():
            audio = release_into_rests(audio, rests, config.samples_per_frame, config.sample_rate)
    audio = set_tone(models, set_roughness(models, audio, controls), controls)
    return Take(
        codes=codes,
        audio=set_level(models, audio, controls),
        sample_rate=int(models.codec.config.sample_rate),
    )


def render(
    models: Any, codes: Codes, controls: Mapping[str, ControlValue] | None = None
) -> np.ndarray:
    """Audio (samples,) or (2, samples) of a grid at the level asked for: `render_take(...).audio`.

    For grids made elsewhere (a saved `.sdacodes`); `generate` already returns a rendered `Take`.
    """
    return render_take(models, codes, controls).audio
