"""A sine the decoder plays under its iSTFT head, for low tones the head cannot hold.

The head sets each frame's phases afresh from a stream that does not know which frame it is at,
so a steady tone below its first bin (48,000 / 512 = 94 Hz) cannot turn its phase by the right
step every frame: kick bodies and bass notes at 30-90 Hz come back at ~94 Hz. This oscillator
keeps its own phase, counted sample by sample from the decoded stretch's start, and the decoder
sets only its frequency and level per synthesis frame. Both are taught directly from the
original's strongest low partial (`sda.training.low_tone_loss`): a magnitude loss alone gives a
sine's frequency no useful gradient when it sits far from the target's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOWEST_HZ = 20.0
HIGHEST_HZ = 160.0  # above the head's first bin: the head plays tones from here up
# the projection's outputs are multiplied by this, so a level learns at ~10x Adam's step: from
# the silent start to a kick's body in hundreds of steps, not thousands
_OUTPUT_SCALE = 10.0
_MIDDLE_HZ = math.sqrt(LOWEST_HZ * HIGHEST_HZ)  # where the frequency starts
SILENT_LOG_LEVEL = -9.0  # exp(-9): about -78 dBFS, inaudible under anything the head plays


# the head's bins under HIGHEST_HZ are ducked by exp(-level / DUCK_LEVEL) while the oscillator
# plays: a base's head plays every low tone at its first bin, and left alone it keeps doing so
# beside the oscillator (measured: the same tone twice, an octave apart, and a worse mel)
DUCK_LEVEL = 0.02  # a tone at -34 dBFS leaves the head's low bins at 1/e; at -14 dBFS, silent


@dataclass
class LowTone:
    """What the oscillator played, per synthesis frame: (batch, frames) each."""

    frequency_hz: Tensor
    level: Tensor  # the sine's peak amplitude (full scale 1)


class LowOscillator(nn.Module):
    """(batch, frames, dim) stream -> (batch, frames * hop_length) sine, and its `LowTone`.

    Starts silent (a level of about -78 dBFS), so a codec that adds it to a base without one
    decodes as the base did, to within that.
    """

    def __init__(self, *, dim: int, hop_length: int, sample_rate: int) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.sample_rate = sample_rate
        self.proj = nn.Linear(dim, 2)  # (octaves from _MIDDLE_HZ, log level)
        with torch.no_grad():
            self.proj.weight.zero_()
            self.proj.bias.copy_(torch.tensor([0.0, SILENT_LOG_LEVEL / _OUTPUT_SCALE]))

    def track(self, stream: Tensor) -> LowTone:
        """The frequency and level per frame the stream asks for. The frequency is not squashed
        into the range (a squashing curve stops learning at its ends); `render` clamps it."""
        octaves, log_level = (self.proj(stream) * _OUTPUT_SCALE).unbind(-1)
        frequency = _MIDDLE_HZ * torch.exp2(octaves)
        return LowTone(frequency_hz=frequency, level=torch.exp(log_level.clamp(max=0.0)))

    def forward(self, stream: Tensor) -> tuple[Tensor, LowTone]:
        tone = self.track(stream)
        return self.render(tone), tone

    def head_duck(self, tone: LowTone, bin_hz: float) -> Tensor:
        """(batch, ducked bins, frames): what to add to the log-magnitudes of the head's bins
        under `HIGHEST_HZ` (bin_hz apart), so where the oscillator plays a tone the head leaves
        that band to it; zero (nothing changes) while it is silent."""
        bins = int(HIGHEST_HZ // bin_hz) + 1
        # detached: the duck follows the taught level, and a spectral loss cannot keep the
        # head's misplaced tone by silencing the oscillator
        return (-tone.level.detach() / DUCK_LEVEL).unsqueeze(1).expand(-1, bins, -1)

    def render(self, tone: LowTone) -> Tensor:
        """The sine, its phase counted from the first sample. The frequency reaches the audio
        detached: it learns from the taught target only (a spectral loss's gradient through an
        accumulated phase scrambles it; RESULTS.md, 2026-12-07)."""
        samples = tone.level.shape[-1] * self.hop_length
        frequency = _per_sample(tone.frequency_hz.detach().clamp(LOWEST_HZ, HIGHEST_HZ), samples)
        level = _per_sample(tone.level, samples)
        # cycles in float64: a float32 running sum loses the phase within seconds
        cycles = torch.cumsum(frequency.double() / self.sample_rate, dim=-1)
        phase = (cycles - torch.floor(cycles)).to(level.dtype)
        return level * torch.sin(2 * math.pi * phase)


def _per_sample(per_frame: Tensor, samples: int) -> Tensor:
    """(batch, frames) -> (batch, samples), linear between frame centres."""
    return F.interpolate(
        per_frame.unsqueeze(1), size=samples, mode="linear", align_corners=False
    ).squeeze(1)
