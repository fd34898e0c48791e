"""A long decode with phase steps keeps one phase through its window joins."""

from __future__ import annotations

import math

import numpy as np
import torch
from factories import TINY_CODEC

from sda.dna.codec_bridge import encode_audio
from sda.dna.decode import _decode_windows, _joined, _window_starts, decode_codes
from sda.models.codec import Codec, CodecConfig

RATE = 48000


def _stepping_codec() -> Codec:
    """A tiny untrained codec whose every bin steps 0.6 rad a frame beyond its centre, at a
    level that holds (no onsets: the sums run through the whole decode, as in a held note)."""
    torch.manual_seed(0)
    codec = Codec(CodecConfig(**{**TINY_CODEC, "codebook_size": 16, "phase_steps": True}))
    codec.quantizer.warm_up(codec.encode_latents(torch.randn(4, RATE) * 0.1))
    head = codec.decoder.head
    with torch.no_grad():
        head.proj.weight[: head.bins].zero_()
        head.proj.bias[: head.bins].fill_(-2.0)
        head.phase_steps.proj.bias.fill_(math.atanh(0.6 / math.pi))
    return codec.eval()


def test_windows_go_on_from_each_others_phase_where_they_join():
    codec = _stepping_codec()
    t = np.arange(RATE) / RATE
    codes = encode_audio(codec, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32))
    whole = decode_codes(codec, codes, window_frames=codes.frames + 1)
    windowed = decode_codes(codec, codes, window_frames=48, overlap_frames=12)
    error = np.abs(windowed - whole).max() / np.abs(whole).max()
    assert error < 0.1
    # each window summing its own steps from its start: the joins' crossfades differ far more
    starts = _window_starts(codes.frames, 48, 36)
    grid = torch.tensor(np.asarray(codes.indices), dtype=torch.long)[None]
    windows = [grid[:, :, start : start + 48] for start in starts]
    own_sums = _joined(starts, _decode_windows(codec, windows, None), 48, 128)
    assert np.abs(own_sums - whole).max() / np.abs(whole).max() > 3 * error
