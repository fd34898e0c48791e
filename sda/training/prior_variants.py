"""Copies of the training audio at other speeds and levels: more codes for the prior from little music.

A prior trained on a few minutes of codes memorises them within a few hundred steps (its validation
cross-entropy rises while the training loss falls). Varispeed copies (a semitone or so up and down,
tempo moving with pitch, as a tape would) and quieter copies are new code sequences that still sound
like the set, and their measured descriptors move with them, so the controls see a wider range
(brighter, denser, quieter) than the originals alone hold. The codec was trained with the same kinds
of change, so it encodes these copies as well as the originals. A stereo recording (2, samples)
is changed on both channels alike (one speed, one gain), so its image stays where it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from sda.audio.dsp import polyphase_filter, resample_by_ratio
from sda.audio.stream import StreamResampler
from sda.errors import SdaError

MAX_RATIO_TERM = 32  # keeps the polyphase filter short
SPEED_RANGE = (0.5, 2.0)
GAIN_RANGE_DB = (-40.0, 12.0)


@dataclass(frozen=True)
class Variant:
    """Play the audio `up/down` times slower (resampled by up/down) and `gain_db` louder."""

    up: int = 1
    down: int = 1
    gain_db: float = 0.0

    @property
    def is_original(self) -> bool:
        return self.up == self.down and self.gain_db == 0.0

    @property
    def speed(self) -> float:
        return self.down / self.up

    @property
    def key(self) -> str:
        """Part of a cache key: the originals keep the key they had before variants existed."""
        return "" if self.is_original else f"|speed{self.down}/{self.up}|gain{self.gain_db:g}"

    def apply(self, audio: np.ndarray) -> np.ndarray:
        """The copy of (samples,) or (channels, samples) audio, resampled along time."""
        if self.is_original:
            return audio  # untouched: its codes keep the cache key they had before copies existed
        out = resample_by_ratio(audio, self.up, self.down)
        if self.gain_db:
            out = out * np.float32(10.0 ** (self.gain_db / 20.0))
        return np.clip(out, -1.0, 1.0)  # resampling can overshoot a full-scale original

    def length(self, samples: int) -> int:
        """How long the copy of `samples` samples is."""
        return samples if self.is_original else -(-samples * self.up // self.down)

    def apply_in_blocks(self, audio: np.ndarray, block: int = 1 << 20) -> Iterator[np.ndarray]:
        """`apply`, block by block (the same samples): a long recording is never copied whole.
        Blocks are (n,) for mono audio, (channels, n) for (channels, samples) audio."""
        window = polyphase_filter(self.up, self.down)
        channels = 1 if audio.ndim == 1 else audio.shape[0]
        # one resampler per channel: each is fed the same lengths, so they stay in step
        resamplers = [StreamResampler(self.up, self.down, window) for _ in range(channels)]
        gain = np.float32(10.0 ** (self.gain_db / 20.0))

        def shaped(parts: list[np.ndarray]) -> np.ndarray:
            out = parts[0] if audio.ndim == 1 else np.stack(parts)
            return np.clip(out * gain, -1.0, 1.0)

        for start in range(0, audio.shape[-1], block):
            piece = np.asarray(audio[..., start : start + block], np.float32).reshape(channels, -1)
            out = [r.push(row) for r, row in zip(resamplers, piece, strict=True)]
            if len(out[0]):
                yield shaped(out)
        yield shaped([r.finish() for r in resamplers])


def variants(speeds: list[float], gains_db: list[float]) -> list[Variant]:
    """Every speed at every gain, the original (1.0, 0 dB) first; speeds round to small ratios."""
    for speed in speeds:
        if not SPEED_RANGE[0] <= float(speed) <= SPEED_RANGE[1]:
            raise SdaError(
                f"prior_data.speeds: {speed} is outside {SPEED_RANGE[0]}..{SPEED_RANGE[1]}; "
                "use speeds near 1.0 (1.06 is about a semitone up)"
            )
    for gain in gains_db:
        if not GAIN_RANGE_DB[0] <= float(gain) <= GAIN_RANGE_DB[1]:
            raise SdaError(
                f"prior_data.gains_db: {gain} is outside {GAIN_RANGE_DB[0]:g}..{GAIN_RANGE_DB[1]:g} dB"
            )
    found: list[Variant] = [Variant()]
    for speed in speeds or [1.0]:
        ratio = Fraction(1.0 / float(speed)).limit_denominator(MAX_RATIO_TERM)
        for gain in gains_db or [0.0]:
            variant = Variant(ratio.numerator, ratio.denominator, float(gain))
            if variant.up == variant.down:
                variant = Variant(1, 1, float(gain))
            if variant not in found:
                found.append(variant)
    return found
