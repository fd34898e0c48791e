"""The low oscillator's teacher: the original's low tone found, and an oscillator taught it."""

from __future__ import annotations

import math

import torch

from sda.models.low_oscillator import LowOscillator
from sda.models.low_tone_analysis import HOP, low_tone_target
from sda.training.low_tone_loss import LowToneLoss

RATE = 48000


def kick_body(hz: float, seconds: float = 1.0, level: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * RATE)) / RATE
    return level * torch.sin(2 * math.pi * hz * t) * torch.exp(-3 * t)


def test_finds_a_low_tones_pitch_and_amplitude():
    frame = 20  # 0.21 s in
    for hz in (36.0, 46.0, 55.0, 98.0):
        target = low_tone_target(kick_body(hz)[None], RATE)
        assert abs(float(target.frequency_hz[0, frame]) - hz) < 0.5
        expected = 0.5 * math.exp(-3 * frame * HOP / RATE)
        assert abs(float(target.level[0, frame]) - expected) < 0.05 * expected
        assert float(target.tonal[0, frame]) == 1.0


def test_noise_and_silence_hold_no_tone():
    torch.manual_seed(0)
    noise = low_tone_target(torch.randn(1, RATE) * 0.3, RATE)
    assert float(noise.tonal.mean()) < 0.2
    silence = low_tone_target(torch.zeros(1, RATE), RATE)
    assert float(silence.level.max()) == 0.0


def test_an_oscillator_taught_by_it_plays_a_kick_body_at_its_pitch():
    """A 36 Hz body, below the iSTFT head's first bin: the oscillator alone learns to play it
    within a semitone and within 2 dB, from its silent start at ~57 Hz."""
    torch.manual_seed(0)
    hop = 128
    body = kick_body(36.0)[None]
    frames = body.shape[-1] // hop
    osc = LowOscillator(dim=8, hop_length=hop, sample_rate=RATE)
    # a decoder's stream is smooth in time: here, how far into the body each frame is
    t = torch.arange(frames) / frames
    stream = torch.stack([torch.exp(-k * t) for k in range(8)], dim=-1)[None]
    loss = LowToneLoss(sample_rate=RATE)
    optimiser = torch.optim.Adam(osc.parameters(), lr=1e-2)
    for _ in range(150):
        optimiser.zero_grad()
        _, tone = osc(stream)
        loss(tone, body).backward()
        optimiser.step()
    played = low_tone_target(osc(stream)[0].detach(), RATE)
    wanted = low_tone_target(body, RATE)
    middle = slice(10, 60)  # the body's first half second
    semitones = 12 * torch.log2(played.frequency_hz[0, middle] / 36.0).abs()
    assert float(semitones.median()) < 1.0
    level_db = 20 * torch.log10(played.level[0, middle] / wanted.level[0, middle])
    assert float(level_db.abs().median()) < 2.0
