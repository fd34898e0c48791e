"""What each code sounds like in tension: a table the prior's sampler steers by.

Tension (`sda.audio.descriptors`: the Sethares dissonance of the spectral peaks) lives in the notes
the prior chooses, so no render-time finish can set it, and after a few thousand CPU steps the
prior's conditioning on it is weak (rho 0.56 on drums, -0.15 on stereo textures by one take).
The training material already says which codes go with tense sound: for every level and code,
the power-weighted mean tension of the code frames that use it. Sampling tilts each draw towards
the codes whose tension lies on the asked side of the material's average
(`sda.generate.code_steering`). Codes heard rarely (or only in silence) are pulled towards their
level's mean, so a handful of frames cannot make a code look extreme.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats

TENSION = CONTROL_NAMES.index("tension")
SHRINK = 0.5  # a code counts as heard for half an average code's power at its level's mean
TINY = 1e-12


def _frame_sums(codes: np.ndarray, power: np.ndarray, dissonance: np.ndarray, per: int):
    """(levels, n) codes and, per code frame, its power and power * dissonance (n frames)."""
    frames = min(codes.shape[1], len(power) // per)
    power = power[: frames * per].reshape(frames, per)
    weighted = (power * dissonance[: frames * per].reshape(frames, per)).sum(1)
    return codes[:, :frames], power.sum(1), weighted


def code_tension(
    files: Sequence,  # EncodedFile: codes[0] (rows, frames), descriptors, samples_per_frame
    limits: Sequence[int],  # training frames of each file (the rest is held out)
    stats: DescriptorStats,
    *,
    levels: int,  # the codec's levels: the first rows of the grid (a stereo grid's mid)
    codebook_size: int,
) -> dict[str, object]:
    """{"table": (levels, codebook) of each code's tension over its level's mean, in the
    control's 0..1 units, "neutral": the material's mean tension in those units}."""
    total = np.zeros((levels, codebook_size))
    weight = np.zeros((levels, codebook_size))
    for file, limit in zip(files, limits, strict=True):
        frames = file.descriptors
        per = max(1, file.samples_per_frame // frames.hop)
        codes, power, weighted = _frame_sums(
            np.asarray(file.codes[0][:levels, :limit], dtype=np.int64),
            frames.power, frames.dissonance, per,
        )  # fmt: skip
        for level in range(levels):
            np.add.at(total[level], codes[level], weighted)
            np.add.at(weight[level], codes[level], power)
    low, high = stats.low[TENSION], stats.high[TENSION]
    mean = total.sum(1, keepdims=True) / (weight.sum(1, keepdims=True) + TINY)
    shrink = SHRINK * weight.sum(1, keepdims=True) / codebook_size
    raw = (total + shrink * mean) / (weight + shrink + TINY)
    table = (raw - mean) / (high - low)
    neutral = (float(total[0].sum() / (weight[0].sum() + TINY)) - low) / (high - low)
    return {
        "table": np.round(table, 4).tolist(),
        "neutral": round(float(np.clip(neutral, 0.0, 1.0)), 4),
    }
