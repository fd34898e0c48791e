"""Sines under the synthesis head's first bin: silent at start, at their pitch, learnable levels."""

from __future__ import annotations

import math

import factories
import torch

from sda.models.codec import Codec, CodecConfig
from sda.models.sub_oscillators import LEVEL_SCALE, LOWEST_HZ, SubOscillators

RATE = 48_000


def _loudest_hz(audio: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(audio * torch.hann_window(audio.shape[-1])).abs()
    return float(torch.fft.rfftfreq(audio.shape[-1], 1 / RATE)[spectrum.argmax()])


def test_new_oscillators_add_nothing_and_each_plays_its_semitone() -> None:
    bank = SubOscillators(dim=3, hop_length=128, sample_rate=RATE, count=24)
    stream, audio = torch.randn(1, 200, 3), torch.zeros(1, 200 * 128)
    assert torch.equal(bank(stream, audio), audio)
    with torch.no_grad():
        bank.level.bias[7] = 0.5 / LEVEL_SCALE  # seven semitones above 24 Hz: 35.96 Hz, an 808 kick's body
    tone = bank(stream, audio)[0]
    assert abs(_loudest_hz(tone) - LOWEST_HZ * 2 ** (7 / 12)) < 1.0
    assert math.isclose(float(tone.abs().max()), 0.5, rel_tol=1e-3)


def test_trained_alone_it_rebuilds_a_kick_body_below_the_first_bin() -> None:
    torch.manual_seed(0)
    frames = 150
    t = torch.arange(frames * 128) / RATE
    body = 0.6 * torch.sin(2 * math.pi * 36.0 * t) * torch.exp(-t / 0.15)
    # the decoder's stream as a clock-free description: how long since the hit, per frame
    since = torch.arange(frames, dtype=torch.float32)[None, :, None] / frames
    stream = torch.cat([torch.ones_like(since), since, since.square()], dim=-1)
    bank = SubOscillators(dim=3, hop_length=128, sample_rate=RATE, count=24)
    optimizer = torch.optim.Adam(bank.parameters(), lr=0.02 / LEVEL_SCALE)
    window = torch.hann_window(4096)

    def magnitudes(audio: torch.Tensor) -> torch.Tensor:
        return torch.stft(audio, 4096, 1024, window=window, return_complex=True).abs()

    wanted = magnitudes(body)
    # what the head plays: here faint noise (a spectrum of exact zeros has no gradient)
    head = 1e-3 * torch.randn(1, frames * 128)
    for _ in range(300):
        optimizer.zero_grad()
        rebuilt = bank(stream, head)[0]
        loss = (magnitudes(rebuilt) - wanted).abs().mean() / wanted.mean()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        rebuilt = bank(stream, head)[0]
    assert abs(_loudest_hz(rebuilt) - 36.0) < 2.0
    level_db = 20 * math.log10(float(rebuilt.square().mean().sqrt() / body.square().mean().sqrt()))
    assert abs(level_db) < 3.0


def test_a_codec_with_sub_oscillators_decodes_and_they_learn() -> None:
    codec = Codec(CodecConfig(**{**factories.TINY_CODEC, "sub_oscillators": 12}))
    audio = torch.randn(2, 4096) * 0.1
    decoded = codec.decode_latents(codec.encode_latents(audio))
    decoded.square().sum().backward()
    assert float(codec.decoder.sub_oscillators.level.weight.grad.abs().sum()) > 0
    assert Codec(CodecConfig(**factories.TINY_CODEC)).decoder.sub_oscillators is None
