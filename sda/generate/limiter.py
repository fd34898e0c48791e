"""A look-ahead peak limiter for loud settings: the level asked for without clipping, and
without turning a whole take down for its loudest hit.

`render.set_level` brings a take to the RMS level its loudness setting asks for. On material
with a high crest factor (drum hits between silences) the loudest settings put the peaks over
the ceiling, and turning the whole take down to fit made a 10 s drum take at loudness 0.9
measure as quiet as one at 0.7 (experiments/RESULTS.md, "loud settings limited"). So the peaks
over the ceiling are turned down first, by at most MAX_REDUCTION_DB, as a mastering limiter
would: the gain falls over LOOKAHEAD_SECONDS before a peak (a ramp, no click), holds through it
and recovers at RELEASE_DB_PER_SECOND. What would need more than that is left to the take-wide
gain, so a limited take keeps most of its punch.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

BLOCK = 32  # samples per step of the gain envelope (0.7 ms at 48 kHz)
LOOKAHEAD_SECONDS = 0.002
RELEASE_DB_PER_SECOND = 60.0  # 6 dB of reduction recovers in 0.1 s
MAX_REDUCTION_DB = 6.0
TINY = 1e-12


def reduction_db(level: np.ndarray, rate: int, ceiling: float, most_db: float) -> np.ndarray:
    """(samples,) gain reduction in dB (>= 0) that keeps `level` (the sample peaks across
    channels) under `ceiling`, at most `most_db`, with look-ahead and release."""
    over = np.clip(20.0 * np.log10(np.maximum(level, TINY) / ceiling), 0.0, most_db)
    blocks = -(-len(over) // BLOCK)
    need = np.pad(over, (0, blocks * BLOCK - len(over))).reshape(blocks, BLOCK).max(axis=1)
    ahead = max(1, round(LOOKAHEAD_SECONDS * rate / BLOCK))
    # each block's reduction starts `ahead` blocks early and holds through the block after it
    held = maximum_filter1d(need, size=ahead + 2, origin=-(ahead // 2), mode="constant")
    step = RELEASE_DB_PER_SECOND * BLOCK / rate
    envelope = np.empty_like(held)
    current = 0.0
    for index, value in enumerate(held):  # release: at most `step` dB less per block
        current = max(value, current - step)
        envelope[index] = current
    centres = np.arange(blocks) * BLOCK + (BLOCK - 1) / 2.0
    return np.interp(np.arange(len(over)), centres, envelope)


def limit_peaks(
    audio: np.ndarray, rate: int, ceiling: float, most_db: float = MAX_REDUCTION_DB
) -> np.ndarray:
    """`audio` (samples,) or (channels, samples) with its peaks over `ceiling` turned down by at
    most `most_db` (both channels alike); unchanged when nothing exceeds the ceiling."""
    audio = np.asarray(audio, dtype=np.float32)
    level = np.abs(audio) if audio.ndim == 1 else np.abs(audio).max(axis=0)
    if audio.size == 0 or float(level.max()) <= ceiling:
        return audio
    gain = 10.0 ** (-reduction_db(level, rate, ceiling, most_db) / 20.0)
    return (audio * gain.astype(np.float32)).astype(np.float32)
