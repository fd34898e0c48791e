"""The decoder's low oscillator: silent at the start, a sine at the frequency it is asked for,
its phase continuous while the frequency glides."""

from __future__ import annotations

import math

import numpy as np
import torch

from sda.models.low_oscillator import HIGHEST_HZ, LOWEST_HZ, LowOscillator, LowTone

RATE = 48000
HOP = 128


def oscillator() -> LowOscillator:
    torch.manual_seed(0)
    return LowOscillator(dim=16, hop_length=HOP, sample_rate=RATE)


def loudest_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n=8 * len(audio)))
    return float(np.argmax(spectrum) * RATE / (8 * len(audio)))


def test_starts_silent_whatever_the_stream():
    audio, tone = oscillator()(torch.randn(2, 300, 16) * 3)
    assert audio.shape == (2, 300 * HOP)
    assert 0 < audio.abs().max() < 2e-4  # about -78 dBFS
    assert torch.allclose(tone.frequency_hz, torch.tensor(math.sqrt(LOWEST_HZ * HIGHEST_HZ)))


def test_plays_the_frequency_and_level_it_is_given():
    frames = RATE // HOP  # one second
    for hz in (36.0, 55.0, 82.4):
        tone = LowTone(frequency_hz=torch.full((1, frames), hz), level=torch.full((1, frames), 0.5))
        audio = oscillator().render(tone)[0].numpy()
        assert abs(loudest_hz(audio) - hz) < 1.0
        assert abs(np.abs(audio).max() - 0.5) < 0.01


def test_a_glide_keeps_its_phase_continuous():
    frames = RATE // HOP
    glide = torch.linspace(60.0, 35.0, frames)[None]  # an 808's body falling in pitch
    audio = oscillator().render(LowTone(frequency_hz=glide, level=torch.ones(1, frames)))[0]
    # a sine of at most 60 Hz moves by at most 2 pi 60 / RATE per sample: no jump anywhere
    assert float(audio.diff().abs().max()) <= 2 * math.pi * 60.0 / RATE * 1.01


def test_the_level_learns_and_the_frequency_reaches_the_audio_detached():
    osc = oscillator()
    audio, tone = osc(torch.randn(1, 50, 16))
    audio.square().sum().backward()
    # a spectral loss's gradient reaches the level's outputs, never the frequency's
    assert osc.proj.weight.grad[1].abs().sum() > 0
    assert osc.proj.weight.grad[0].abs().sum() == 0


def test_the_heads_low_bins_give_way_to_a_playing_oscillator():
    osc = oscillator()
    frames = 10
    silent = LowTone(
        frequency_hz=torch.full((1, frames), 40.0), level=torch.full((1, frames), 1e-4)
    )
    loud = LowTone(frequency_hz=torch.full((1, frames), 40.0), level=torch.full((1, frames), 0.3))
    # a 512-sample head at 48 kHz: bins at 0 and 93.75 Hz lie under the oscillator's range
    assert osc.head_duck(silent, 93.75).shape == (1, 2, frames)
    assert float(osc.head_duck(silent, 93.75).abs().max()) < 0.01  # a base's head as it was
    assert float(osc.head_duck(loud, 93.75).max()) < -10  # its low bins silent under the tone
