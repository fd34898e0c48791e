"""Steering beyond conditioning: choose among candidates by their measured sound, and set the level.

Conditioning alone pulls the prior towards the requested brightness, loudness, ... but a prior trained
for minutes on a CPU follows it loosely. Measuring each candidate's decoded audio with the same
descriptors the controls are defined by, and keeping the closest, makes a slider move the sound
reliably; the cost is one batched sampling run and one decode per candidate. Loudness is a level,
so `render` finally sets it with a gain; without a loudness control it brings the take's peak to the
training files' median peak, when the bundle recorded it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure
from sda.dna.codes import Codes
from sda.generate.curves import ControlValue, keyframes, sample_curve
from sda.generate.decoding import decode_codes

MAX_CANDIDATES = 16
MAX_GAIN_DB = 24.0
PEAK_CEILING = 0.89  # -1 dBFS: room for resampling and lossy encoders at export
SILENCE_DBFS = -70.0  # a take peaking below this is silence (or decoder hiss): never raised
MATERIAL_LEVEL_KEY = "material_level"  # in the descriptor stats (sda/training/prior_data.py)
CURVE_SEGMENTS = 4  # parts a take with a control curve is measured in
CURVE_RESOLUTION = 32  # curve samples per part, for its mean there


def control_distance(
    audio: np.ndarray,
    sample_rate: int,
    targets: Mapping[str, ControlValue],
    stats: DescriptorStats,
) -> float:
    """Mean |measured - target| over the given controls, on the training set's 0..1 scale.

    With a curve among the targets the take is measured in CURVE_SEGMENTS equal parts, each
    against the curves' mean over that part, so a rise is told from a constant middle value.
    """
    audio = np.asarray(audio, dtype=np.float32)
    points = {name: keyframes(name, value) for name, value in targets.items()}
    parts = CURVE_SEGMENTS if any(len(p) > 1 for p in points.values()) else 1
    bounds = np.linspace(0, len(audio), parts + 1).astype(int)
    wanted = {  # each control's mean target over each part
        name: sample_curve(keys, CURVE_RESOLUTION * parts).reshape(parts, -1).mean(axis=1)
        for name, keys in points.items()
    }
    gaps = []
    for part in range(parts):
        raw = measure(audio[bounds[part] : bounds[part + 1]], sample_rate)
        scaled = stats.normalize(np.array([raw[name] for name in CONTROL_NAMES]))
        for name, means in wanted.items():
            gaps.append(abs(float(scaled[CONTROL_NAMES.index(name)]) - float(means[part])))
    return float(np.mean(gaps)) if gaps else 0.0


def closest_candidate(
    candidates: list[np.ndarray],
    sample_rate: int,
    targets: Mapping[str, ControlValue],
    stats: DescriptorStats,
) -> tuple[int, list[float]]:
    """Index of the candidate audio closest to `targets`, and every candidate's distance.

    Ties go to the earliest candidate, so the choice is as deterministic as the candidates.
    """
    distances = [control_distance(audio, sample_rate, targets, stats) for audio in candidates]
    return int(np.argmin(distances)), distances


def loudness_gain_db(
    audio: np.ndarray,
    sample_rate: int,
    target: float,
    stats: DescriptorStats,
    *,
    max_gain_db: float | None = None,
) -> float:
    """The gain (dB) that brings `audio` to the loudness control's `target` (0..1).

    Loudness is a level, so it is set exactly by a gain rather than hoped for from the codes.
    No cap by default: a quiet take still reaches the level asked for (`render` then keeps the
    peak below PEAK_CEILING); a take peaking below SILENCE_DBFS is silence and stays so.
    """
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 10.0 ** (SILENCE_DBFS / 20.0):
        return 0.0
    index = CONTROL_NAMES.index("loudness")
    wanted = float(stats.denormalize(np.full(len(CONTROL_NAMES), float(target)))[index])
    gain = wanted - measure(audio, sample_rate)["loudness"]
    return float(gain if max_gain_db is None else np.clip(gain, -max_gain_db, max_gain_db))


def bundle_stats(models: Any) -> DescriptorStats | None:
    """The training set's descriptor ranges a bundle carries (what 0..1 means per control), if any."""
    stats = (getattr(models, "meta", None) or {}).get("descriptor_stats")
    return DescriptorStats.from_dict(stats) if stats else None


def material_peak_dbfs(models: Any) -> float | None:
    """The training files' median peak (dBFS) a bundle carries, if its prior recorded it.

    Bundles exported before the level was recorded have none; their takes keep the decoded level.
    """
    stats = (getattr(models, "meta", None) or {}).get("descriptor_stats") or {}
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
    """The gain envelope (samples,) in dB that sets `audio` to the loudness control."""
    curve = sample_curve(keyframes("loudness", target), len(audio))
    level = float(curve.mean())
    gain = loudness_gain_db(audio, rate, level, stats)
    index = CONTROL_NAMES.index("loudness")
    span_db = stats.high[index] - stats.low[index]
    return gain + (curve - level) * span_db


def render(
    models: Any, codes: Codes, controls: Mapping[str, ControlValue] | None = None
) -> np.ndarray:
    """Decode a generated grid to audio (samples,) and set its level.

    With a loudness control the take's mean level is set to the curve's mean and then shaped by
    the curve (the control's 0..1 range is a range of dB, so the curve is a gain envelope in dB).
    Without one, the take's peak is brought to the training files' median peak. A bundle that
    lacks what either needs (descriptor statistics, the material's level) gets plain
    `decode_codes`; a take that gets a gain never peaks above PEAK_CEILING.
    """
    audio = decode_codes(models.codec, codes)
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
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > PEAK_CEILING:
        out *= np.float32(PEAK_CEILING / peak)
    return out.astype(np.float32)
