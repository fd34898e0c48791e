"""`Take`: one sound as its code grid and the audio it decoded to, carried from model to export.

Generation, edits and reconstructions decode a grid once and hand on a `Take`; players, exports
and measurements use its `audio` instead of decoding the codes again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sda.dna.codes import Codes


@dataclass(frozen=True, eq=False)
class Take:
    """Codes and their decoded audio; `eq=False`: two takes are equal only if they are the same."""

    codes: Codes
    audio: np.ndarray  # (samples,) or stereo (2, samples) float32 at `sample_rate`, level set
    sample_rate: int
    provenance: Mapping[str, Any] = field(default_factory=dict)  # sources and operations

    def __post_init__(self) -> None:
        audio = np.asarray(self.audio, dtype=np.float32)
        if not (audio.ndim == 1 or (audio.ndim == 2 and audio.shape[0] == 2)):
            raise ValueError(f"a take's audio is (samples,) or (2, samples), got {audio.shape}")
        object.__setattr__(self, "audio", audio)
        if not self.provenance:
            object.__setattr__(self, "provenance", dict(self.codes.provenance))

    @property
    def channels(self) -> int:
        """1 for a mono take, 2 for a stereo model's take (left, right)."""
        return 1 if self.audio.ndim == 1 else 2

    @property
    def samples(self) -> int:
        return int(self.audio.shape[-1])

    @property
    def seconds(self) -> float:
        return self.audio.shape[-1] / self.sample_rate
