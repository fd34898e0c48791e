"""How long `sda generate`'s takes are: --seconds, or --bars at --bpm, for a loop or a one-shot.

Imports nothing heavy, so it can refuse a bad length before the model loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sda.generate.loop_length import LoopError, LoopLength, loop_length

if TYPE_CHECKING:
    from sda.library import Bundle

DEFAULT_SECONDS = 10.0  # a plain take with no length given
_NOMINAL_RATE = 48_000  # for the checks that need no model: tempo, bars, conflicts


@dataclass(frozen=True)
class TakeLength:
    """The length options of `sda generate` as given (None = not given)."""

    seconds: float | None = None
    bars: float | None = None
    bpm: float | None = None
    beats_per_bar: int = 4
    loop: bool = False

    @property
    def tempo_fitted(self) -> bool:
        return self.bars is not None or self.bpm is not None

    def check(self) -> float:
        """Refuse a conflicting or impossible length before the model loads (`LoopError`, one
        message per problem); returns the take's length in seconds, for the sampling checks."""
        if not (self.loop or self.tempo_fitted):
            return DEFAULT_SECONDS if self.seconds is None else self.seconds
        return self._resolve(_NOMINAL_RATE, 1).seconds

    def for_model(self, model: Bundle) -> LoopLength | None:
        """The exact length with `model`'s rate and frames (None for a plain --seconds take); a
        loop shorter than the model can join is refused here."""
        if not (self.loop or self.tempo_fitted):
            return None
        config = model.codec.config
        frames = int(config.samples_per_frame) if self.loop else 1  # a one-shot has no seam
        return self._resolve(int(config.sample_rate), frames)

    def _resolve(self, sample_rate: int, samples_per_frame: int) -> LoopLength:
        return loop_length(
            sample_rate=sample_rate,
            samples_per_frame=samples_per_frame,
            seconds=self.seconds,
            bars=self.bars,
            bpm=self.bpm,
            beats_per_bar=self.beats_per_bar,
        )


__all__ = ["DEFAULT_SECONDS", "LoopError", "TakeLength"]
