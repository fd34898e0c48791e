"""A long grid decoded in windows by a codec with a low oscillator: a held bass note runs on
through the joins, one phase, no dip (each window's own oscillator would start from zero)."""

from __future__ import annotations

import math

import numpy as np
import torch
from factories import TINY_CODEC

from sda.dna.codes import Codes
from sda.dna.decode import _decode_windows, _joined, _window_starts, decode_codes
from sda.models.codec import Codec, CodecConfig

# a kick's body whose phase turns 3.5 cycles from one window's start to the next (36 frames of
# 128 samples): two windows that each start their own sine at zero meet in opposite phase
HZ = 3.5 * 48000 / (36 * 128)


def droning_codec() -> Codec:
    """A tiny codec whose head is silent and whose oscillator holds HZ at 0.5, whatever the codes."""
    torch.manual_seed(0)
    codec = Codec(CodecConfig(**{**TINY_CODEC, "low_oscillator": True})).eval()
    with torch.no_grad():
        codec.decoder.head.proj.weight.zero_()
        codec.decoder.head.proj.bias.fill_(-40.0)  # exp(-40): silence in every bin
        oscillator = codec.decoder.low_oscillator.proj
        oscillator.weight.zero_()
        middle = math.sqrt(20.0 * 160.0)
        oscillator.bias.copy_(torch.tensor([math.log2(HZ / middle), math.log(0.5)]) / 10.0)
    return codec


def codes_for(codec: Codec, frames: int) -> Codes:
    grid = np.random.default_rng(0).integers(0, codec.config.codebook_size, (4, frames))
    return Codes(grid, bundle_id=codec.fingerprint(), frame_rate=codec.config.frame_rate,
                 codebook_size=codec.config.codebook_size)  # fmt: skip


def peaks_per_cycle(audio: np.ndarray, rate: int) -> np.ndarray:
    cycle = int(rate / HZ)
    return np.abs(audio[: audio.size // cycle * cycle]).reshape(-1, cycle).max(axis=1)


def test_a_held_low_tone_keeps_its_level_across_window_joins():
    codec = droning_codec()
    codes = codes_for(codec, 200)
    audio = decode_codes(codec, codes, window_frames=48, overlap_frames=12)
    assert audio.shape == (200 * codec.config.samples_per_frame,)
    peaks = peaks_per_cycle(audio, codec.config.sample_rate)
    assert 0.49 < peaks.min() and peaks.max() < 0.51
    # each window rendering its own oscillator, crossfaded: the joins dip
    starts = _window_starts(200, 48, 36)
    grid = torch.tensor(np.asarray(codes.indices))[None]
    windows = [grid[:, :, s : s + 48] for s in starts]
    naive = _joined(codec, starts, _decode_windows(codec, windows, None), 48)
    assert peaks_per_cycle(naive, codec.config.sample_rate).min() < 0.45
