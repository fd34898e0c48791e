"""Resampling a loop so it still loops: FFT resampling treats the sound as one period of a
repeating signal, so the new rate's end flows into its start as the old one did (an ordinary
resampler sees silence past both ends and smears a click into the seam)."""

from __future__ import annotations

import numpy as np
from scipy import signal

from sda.errors import SdaError


class LoopResampleError(SdaError):
    """A loop that cannot be resampled as asked."""


def loop_samples_at(samples: int, from_rate: int, to_rate: int) -> int:
    """The length (samples) of a `samples`-long loop at another rate, to the nearest sample."""
    return max(1, round(samples * to_rate / from_rate))


def resample_loop(
    audio: np.ndarray, from_rate: int, to_rate: int, *, samples: int | None = None
) -> np.ndarray:
    """A loop (samples,) or (channels, samples) at `to_rate`, exactly `samples` long (default:
    its length at the new rate, to the nearest sample), still seamless when played over and over.

    Give `samples` for a tempo-fitted loop (bars x beats x 60 / bpm x to_rate): the loop then
    lines up with the bars at the new rate too, its pitch off by less than half a sample in its
    whole length."""
    audio = np.asarray(audio)
    if from_rate <= 0 or to_rate <= 0:
        raise LoopResampleError(
            f"Sample rates must be positive, got {from_rate} -> {to_rate} Hz: check the rates."
        )
    target = loop_samples_at(audio.shape[-1], from_rate, to_rate) if samples is None else samples
    if int(target) < 1 or audio.shape[-1] < 1:
        raise LoopResampleError(f"A loop needs at least one sample, asked for {target}.")
    if target == audio.shape[-1]:
        return audio.copy()
    out = signal.resample(audio.astype(np.float64), int(target), axis=-1)
    return out.astype(audio.dtype if np.issubdtype(audio.dtype, np.floating) else np.float64)
