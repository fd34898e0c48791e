"""Controls that change over a take: a few keyframes, spread evenly from start to end.

`0.2` holds a control still; `[0.1, 0.9]` (or "0.1:0.9" on the command line) makes it rise from
start to end; `[0.2, 0.8, 0.2]` swells and falls back. The prior was trained with a control value
per frame describing the next second of audio, so a curve is simply those values in sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sda.errors import SdaError

MAX_KEYFRAMES = 64
ControlValue = float | str | Sequence[float]  # a number, keyframes, or "a:b:c" text


class ControlValueError(SdaError):
    """A control value that is not a 0..1 number or curve."""


def keyframes(name: str, value: ControlValue) -> list[float]:
    """The keyframes of one control, checked: a number, a list, or "a:b:c" text."""
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(":")]
        try:
            points = [float(part) for part in parts]
        except ValueError:
            raise ControlValueError(
                f"control {name}: {value!r} is not a number or a curve like 0.1:0.9"
            ) from None
    elif isinstance(value, Sequence):
        points = [float(point) for point in value]
    else:
        points = [float(value)]
    if not 1 <= len(points) <= MAX_KEYFRAMES:
        raise ControlValueError(
            f"control {name} needs 1 to {MAX_KEYFRAMES} keyframes, got {len(points)}"
        )
    for point in points:
        if not (math.isfinite(point) and 0.0 <= point <= 1.0):
            shown = point if len(points) == 1 else value
            raise ControlValueError(f"control {name} must be between 0 and 1, got {shown}")
    return points


def sample_curve(points: Sequence[float], frames: int) -> np.ndarray:
    """(frames,) values linearly interpolated between keyframes spread from first to last frame."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 1 or frames <= 1:
        return np.full(max(frames, 0), points[0])
    return np.interp(np.linspace(0.0, 1.0, frames), np.linspace(0.0, 1.0, len(points)), points)


def curve_mean(points: Sequence[float]) -> float:
    """A curve's mean over the take (linear between evenly spread keyframes: the ends count
    half), which is what a take conditioned or measured as one value should get."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 1:
        return float(points[0])
    return float((points.sum() - (points[0] + points[-1]) / 2) / (len(points) - 1))


def plain_control(value: ControlValue, name: str = "control") -> float | list[float]:
    """A control value as a plain float or a list of keyframes, for provenance, tags and presets."""
    points = keyframes(name, value)
    return points[0] if len(points) == 1 else points
