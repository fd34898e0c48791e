"""Stereo width and movement of a mono take at render time, mono-compatible by construction.

The take stays the mid: L = m + side, R = m - side, so (L + R) / 2 is the take itself. Width adds a
decorrelated copy of the take as side (`spatial.decorrelated_side`), scaled so the side/mid energy
ratio is width / (2 - width): the L/R correlation is then 1 - width, from 1 (mono) to 0 (L and R
unrelated, as wide as it gets before going out of phase). Movement adds a slowly swinging share
of the take to the side: a linear auto-pan that moves the image from the left to the right and
back; for a loop it completes whole swings (at least one), so the movement loops with the sound.

A stereo model's take has a side of its own: there `model_field` scales that side instead
(0 = mono, 0.5 = as generated, 1 = twice the side), never past L and R unrelated, and moves it
the same way; the mid, and so the mono downmix, stays the take's.
"""

from __future__ import annotations

import math

import numpy as np

from sda.audio.spatial import SpatialError, decorrelated_side

MAX_SIDE_GAIN = 8.0  # a take with almost nothing above 200 Hz cannot be widened much
MAX_PAN_DEPTH = 0.5  # at movement 1 the louder channel is 3x the quieter: +-9.5 dB
PAN_PERIOD_SECONDS = 4.0  # one slow swing left-right-left
TINY = 1e-20
AS_GENERATED = 0.5  # a stereo model's width that keeps its side as generated
# the widest a stereo model's side is scaled to: side/mid energy 1 (L and R unrelated), as the
# widest widened mono take; wider would turn the channels against each other and cancel in mono
MAX_MODEL_SIDE_RATIO = 1.0


def side_to_mid_ratio(width: float) -> float:
    """The side/mid energy ratio a width setting asks for: width / (2 - width), 0 .. 1."""
    _check_setting("width", width)
    return float(width) / (2.0 - float(width))


def pan_depth_db(movement: float) -> float:
    """The largest L/R level difference (dB) the auto-pan reaches at a movement setting."""
    _check_setting("movement", movement)
    depth = MAX_PAN_DEPTH * float(movement)
    return 20.0 * math.log10((1.0 + depth) / (1.0 - depth))


def pan_cycles(seconds: float, *, loop: bool) -> float:
    """Swings of the auto-pan over a take: whole ones (at least one) for a loop."""
    cycles = seconds / PAN_PERIOD_SECONDS
    return max(1, round(cycles)) if loop else cycles


def describe_width(width: float) -> str:
    """The physical value behind a width setting, for a slider label or --help."""
    ratio = side_to_mid_ratio(width)
    if ratio == 0:
        return "mono"
    return f"side/mid {10 * math.log10(ratio):+.1f} dB (L/R correlation {1 - width:.2f})"


def describe_movement(movement: float) -> str:
    """The physical value behind a movement setting, for a slider label or --help."""
    if pan_depth_db(movement) == 0:
        return "static"
    swing = f"one swing every {PAN_PERIOD_SECONDS:.0f} s"
    return f"L/R level swings up to +-{pan_depth_db(movement):.1f} dB, {swing}"


def stereo_field(
    mono: np.ndarray,
    sample_rate: int,
    *,
    width: float = 0.0,
    movement: float = 0.0,
    loop: bool = False,
) -> np.ndarray:  # -> (2, samples) float32
    """A mono take (samples,) spread to stereo by `width` and set in motion by `movement` (0..1).

    (L + R) / 2 equals the take; should the two channels peak above full scale, both are turned
    down together (the downmix then equals the take at that lower gain). `loop` treats the take as
    a seamless loop: the side signal wraps around and the auto-pan completes whole swings."""
    ratio = side_to_mid_ratio(width)
    _check_setting("movement", movement)
    depth = MAX_PAN_DEPTH * float(movement)
    mid = np.asarray(mono, dtype=np.float64)
    if mid.ndim != 1:
        raise SpatialError(f"The stereo field needs a mono take (samples,), got shape {mid.shape}.")
    side = np.zeros_like(mid)
    if ratio > 0 and mid.size:
        decorrelated = decorrelated_side(mid, sample_rate, circular=loop)
        gain = math.sqrt(ratio * np.mean(mid**2) / (np.mean(decorrelated**2) + TINY))
        side += min(gain, MAX_SIDE_GAIN) * decorrelated
    if depth > 0 and mid.size:
        seconds = mid.size / sample_rate
        phase = 2 * np.pi * pan_cycles(seconds, loop=loop) * np.arange(mid.size) / mid.size
        # From the far left and back: a loop's seam falls where the swing turns and stands still.
        side -= depth * np.cos(phase) * mid
    stereo = np.stack([mid + side, mid - side])
    peak = float(np.max(np.abs(stereo))) if stereo.size else 0.0
    if peak > 1.0:
        stereo /= peak
    return stereo.astype(np.float32)


def model_side_gain(width: float) -> float:
    """The factor a width setting scales a stereo model's own side by: 2 x width (0.5 keeps it)."""
    _check_setting("width", width)
    return float(width) / AS_GENERATED


def describe_model_width(width: float) -> str:
    """The physical value behind a width setting on a stereo model's side, for a label or --help."""
    gain = model_side_gain(width)
    if gain == 0:
        return "mono (the model's side removed)"
    if gain == 1:
        return "the model's own side, as generated"
    return f"side of the model {20 * math.log10(gain):+.1f} dB"


def model_field(
    stereo: np.ndarray,
    sample_rate: int,
    *,
    width: float = AS_GENERATED,
    movement: float = 0.0,
    loop: bool = False,
) -> np.ndarray:  # -> (2, samples) float32
    """A stereo model's take (2, samples) with its own side scaled by `width` (0 = mono,
    0.5 = as generated, 1 = side x2) and set in motion by `movement` (0..1, as `stereo_field`).

    The mid is kept, so (L + R) / 2 is the take's downmix at any width. A widened side stops at
    side/mid energy MAX_MODEL_SIDE_RATIO (L and R unrelated): the take stays mono-compatible.
    Should the channels then peak above full scale, both are turned down together."""
    _check_setting("movement", movement)
    audio = np.asarray(stereo, dtype=np.float64)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise SpatialError(f"A stereo model's take is (2, samples), got shape {audio.shape}.")
    left, right = audio
    mid, side = (left + right) / 2, (left - right) / 2
    gain = model_side_gain(width)
    if gain > 1:  # widening: capped where L and R stop being related
        ratio = np.sum(side**2) / (np.sum(mid**2) + TINY)
        gain = min(gain, max(1.0, math.sqrt(MAX_MODEL_SIDE_RATIO / (ratio + TINY))))
    side = side * gain
    depth = MAX_PAN_DEPTH * float(movement)
    if depth > 0 and mid.size:
        phase = 2 * np.pi * pan_cycles(mid.size / sample_rate, loop=loop) * np.arange(mid.size)
        side = side - depth * np.cos(phase / mid.size) * mid
    out = np.stack([mid + side, mid - side])
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        out /= peak
    return out.astype(np.float32)


def measure_width(stereo: np.ndarray) -> float:
    """Side/mid energy ratio of (2, samples): 0 for mono, 1 when L and R are unrelated."""
    left, right = np.asarray(stereo, dtype=np.float64)
    mid, side = (left + right) / 2, (left - right) / 2
    return float(np.sum(side**2) / (np.sum(mid**2) + TINY))


def level_difference_db(stereo: np.ndarray, sample_rate: int, *, block_seconds: float = 0.05):
    """The L/R level difference (dB, + = right louder) of (2, samples) in blocks: (blocks,)."""
    left, right = np.asarray(stereo, dtype=np.float64)
    block = max(1, round(block_seconds * sample_rate))
    count = len(left) // block
    energy = (np.stack([left, right])[:, : count * block] ** 2).reshape(2, count, block).sum(-1)
    return 10.0 * np.log10((energy[1] + TINY) / (energy[0] + TINY))


def _check_setting(name: str, value: float) -> None:
    try:
        usable = math.isfinite(float(value)) and 0.0 <= float(value) <= 1.0
    except (TypeError, ValueError):
        usable = False
    if not usable:
        raise SpatialError(f"Stereo {name} {value!r} is out of range: use a value from 0 to 1.")
