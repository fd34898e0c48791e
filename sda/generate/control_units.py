"""A control setting in a musician's units, from the model's own material ("≈ 2.3 onsets/s").

The six controls are 0..1 over the training set's range of each descriptor; this says what a
setting asks for in the descriptor's physical unit, so a musician knows what 0.7 means for this
model. Loudness uses its musical range (`sda.generate.loudness_range`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.generate.curves import ControlValue, keyframes
from sda.generate.loudness_range import loudness_db


def physical_value(name: str, value: float, stats: DescriptorStats) -> str:
    """One setting of control `name` (0..1) as a physical quantity, e.g. "≈ 2.3 onsets/s"."""
    if name == "loudness":
        return f"≈ {loudness_db(value, stats):.0f} dBFS RMS"
    index = CONTROL_NAMES.index(name)
    raw = stats.low[index] + float(value) * (stats.high[index] - stats.low[index])
    if name == "brightness":  # log2 of the spectral centroid in Hz
        if not 0.0 <= raw <= 16.0:  # not a log2 frequency (a hand-made or damaged range)
            return f"≈ {raw:.3g} centroid (log2 Hz)"
        hertz = 2.0**raw
        return (
            f"≈ {hertz / 1000:.1f} kHz centroid" if hertz >= 1000 else f"≈ {hertz:.0f} Hz centroid"
        )
    if name == "warmth":
        return f"≈ {raw:+.0f} dB lows over highs"
    if name == "roughness":
        return f"≈ {raw:.0f} dB spectral flatness"
    if name == "tension":
        return f"≈ {raw:.2f} dissonance"
    return f"≈ {raw:.1f} onsets/s"  # density


def describe_controls(controls: Mapping[str, ControlValue], stats: DescriptorStats) -> str:
    """ "density 0.9 (≈ 4.2 onsets/s), loudness 0.1 → 0.5 (≈ -37 → -25 dBFS RMS)" for set controls."""
    parts = []
    for name, value in controls.items():
        points = keyframes(name, value)
        settings = " → ".join(f"{p:g}" for p in points)
        units = [physical_value(name, p, stats) for p in points]
        shown = units[0] if len(units) == 1 else _join_units(units)
        parts.append(f"{name} {settings} ({shown})")
    return ", ".join(parts)


def _join_units(units: list[str]) -> str:
    """["≈ -37 dBFS RMS", "≈ -25 dBFS RMS"] -> "≈ -37 → -25 dBFS RMS" (one unit, shown once)."""
    numbers = [u.removeprefix("≈ ").split(" ", 1) for u in units]
    if len({unit for _, unit in numbers}) == 1:
        return "≈ " + " → ".join(n for n, _ in numbers) + " " + numbers[0][1]
    return " → ".join(units)
