"""Phases from magnitudes: held tones rendered at their pitch, windows that agree, no gradient."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from factories import TINY_CODEC

from sda.models.base_codec import BaseCodecError, check_fits
from sda.models.codec import Codec, CodecConfig, CodecError
from sda.models.spectral import ISTFTHead, consistent_phases
from sda.models.vocoder_phase import vocoder_phases

RATE, N_FFT, HOP = 48000, 512, 128


def head_grid(audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-magnitude, phase) of `audio` on the frames an `ISTFTHead` of N_FFT/HOP plays."""
    head = ISTFTHead(dim=4, n_fft=N_FFT, hop_length=HOP)
    frames = audio.numel() // HOP
    pad = (N_FFT - HOP) // 2
    padded = torch.nn.functional.pad(audio[None], (pad, frames * HOP - audio.numel() + pad))
    spec = torch.stft(padded, N_FFT, HOP, window=head.window, center=False, return_complex=True)
    return torch.log(spec.abs().clamp(min=1e-7)), torch.angle(spec)


def loudest_hz(audio: np.ndarray) -> float:
    held = audio[RATE // 4 : RATE // 4 + RATE // 2]
    spectrum = np.abs(np.fft.rfft(held * np.hanning(held.size), n=8 * held.size))
    return float(np.fft.rfftfreq(8 * held.size, 1 / RATE)[spectrum.argmax()])


def render(log_mag: torch.Tensor, phase: torch.Tensor) -> np.ndarray:
    return ISTFTHead(dim=4, n_fft=N_FFT, hop_length=HOP).render(log_mag, phase)[0].numpy()


@pytest.mark.parametrize("hz", [261.6, 1000.0, 3210.0])
def test_a_held_sine_rendered_from_its_magnitudes_keeps_its_pitch(hz):
    time = torch.arange(RATE) / RATE
    log_mag, _ = head_grid(0.3 * torch.sin(2 * math.pi * hz * time))
    played = render(log_mag, vocoder_phases(log_mag, n_fft=N_FFT, hop_length=HOP))
    assert abs(loudest_hz(played) - hz) < 0.01 * hz
    # the same magnitudes with one phase per bin held still (what a head that repeats itself
    # every frame plays) land on the frame-rate comb instead
    still = render(log_mag, torch.zeros_like(log_mag))
    assert abs(loudest_hz(still) - hz) > 0.02 * hz


def test_a_peaks_neighbours_are_locked_to_it_half_a_turn_apart():
    time = torch.arange(RATE // 4) / RATE
    log_mag, _ = head_grid(0.3 * torch.sin(2 * math.pi * 1000.0 * time))
    phase = vocoder_phases(log_mag, n_fft=N_FFT, hop_length=HOP)[0, :, 50]
    peak = int(log_mag[0, :, 50].argmax())
    step = torch.remainder(phase[peak + 1] - phase[peak], 2 * math.pi)
    assert abs(float(step) - math.pi) < 1e-3


def test_windows_told_where_they_start_give_a_held_tone_the_whole_sounds_phases():
    time = torch.arange(RATE // 2) / RATE
    log_mag, _ = head_grid(0.3 * torch.sin(2 * math.pi * 440.0 * time))
    whole = vocoder_phases(log_mag, n_fft=N_FFT, hop_length=HOP)
    start = 80
    part = vocoder_phases(log_mag[..., start:], n_fft=N_FFT, hop_length=HOP, start_frame=start)
    peak = int(log_mag[0, :, 120].argmax())
    gap = torch.remainder(
        part[0, peak, 10:60] - whole[0, peak, start + 10 : start + 60], 2 * math.pi
    )
    # within a few degrees: the whole sound's first frames, where the tone starts, turn a little
    # differently from the held part a window's start stands in for
    assert torch.minimum(gap, 2 * math.pi - gap).max() < 0.15
    unaware = vocoder_phases(log_mag[..., start:], n_fft=N_FFT, hop_length=HOP)
    gap = torch.remainder(
        unaware[0, peak, 10:60] - whole[0, peak, start + 10 : start + 60], 2 * math.pi
    )
    assert torch.minimum(gap, 2 * math.pi - gap).max() > 0.5


def test_phases_carry_no_gradient_and_the_magnitudes_still_learn():
    head = ISTFTHead(dim=8, n_fft=N_FFT, hop_length=HOP, phase="vocoder")
    audio = head(torch.randn(1, 8, 20))
    audio.square().sum().backward()
    assert head.proj.weight.grad[: head.bins].abs().sum() > 0  # the magnitude half learns
    assert head.proj.weight.grad[head.bins :].abs().sum() == 0  # the phase half is unused


def test_codec_settings_name_the_phase_source():
    with pytest.raises(CodecError, match="head_phase"):
        CodecConfig(**TINY_CODEC, head_phase="guessed")
    older = {k: v for k, v in CodecConfig(**TINY_CODEC).__dict__.items() if k != "head_phase"}
    assert CodecConfig.from_dict(older).head_phase == "learned"  # files from before load as made
    learned, vocoder = CodecConfig(**TINY_CODEC), CodecConfig(**TINY_CODEC, head_phase="vocoder")
    check_fits(learned, vocoder)  # a learned-phase base starts a vocoder codec (same weights)
    with pytest.raises(BaseCodecError, match="head_phase"):
        check_fits(vocoder, replace(vocoder, head_phase="learned"))
    made, same_weights = Codec(learned), Codec(vocoder)
    same_weights.load_state_dict(made.state_dict())
    assert same_weights.fingerprint() != made.fingerprint()  # they decode differently


def test_griffin_lim_rounds_bring_the_played_spectrum_closer_to_the_magnitudes():
    torch.manual_seed(0)
    time = torch.arange(RATE // 2) / RATE
    chord = sum(torch.sin(2 * math.pi * hz * time) for hz in (220.0, 277.2, 329.6)) / 4
    log_mag, _ = head_grid(chord + 0.01 * torch.randn_like(chord))
    head = ISTFTHead(dim=4, n_fft=N_FFT, hop_length=HOP)
    start = vocoder_phases(log_mag, n_fft=N_FFT, hop_length=HOP)

    def mismatch(phase: torch.Tensor) -> float:
        played, _ = head_grid(head.render(log_mag, phase)[0])
        return float((played.exp() - log_mag.exp()).norm() / log_mag.exp().norm())

    shape = dict(n_fft=N_FFT, hop_length=HOP, window=head.window)
    refined = consistent_phases(log_mag.exp(), start, iterations=4, **shape)
    assert mismatch(refined) < 0.8 * mismatch(start)
    assert torch.equal(consistent_phases(log_mag.exp(), start, iterations=0, **shape), start)
