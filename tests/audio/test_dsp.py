"""sda.audio.dsp: resampling quality and speed, mel spectra, loudness, and the mel distance scale."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.signal
import torch

from sda.audio.dsp import (
    loudness_lufs,
    mel_distance,
    mel_distance_tensor,
    mel_spectrogram,
    rational_ratio,
    resample,
    resample_by_ratio,
)

SR = 48000


def _sine(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[np.argmax(spectrum)])


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(SR * seconds)) * 0.1).astype(np.float32)


def test_rational_ratio_is_exact_for_common_rates_and_close_for_odd_ones():
    assert rational_ratio(44100, 48000) == (160, 147)
    assert rational_ratio(96000, 48000) == (1, 2)
    up, down = rational_ratio(50854, 48000)
    assert max(up, down) <= 2048
    assert up / down == pytest.approx(48000 / 50854, rel=1e-5)


@pytest.mark.parametrize("orig", [8000, 22050, 44100, 50854, 96000])
def test_resample_keeps_pitch_length_and_level(orig):
    tone = _sine(1000, orig)
    out = resample(tone, orig, SR)
    assert out.dtype == np.float32 and out.shape == (SR,)
    assert _peak_frequency(out, SR) == pytest.approx(1000, abs=2)
    middle = out[2000:-2000]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resample_rejects_aliases():
    # 25 kHz cannot exist at 48 kHz: it must vanish, not fold down to 23 kHz.
    out = resample(_sine(25000, 50854), 50854, SR)
    assert np.sqrt(np.mean(out[2000:-2000] ** 2)) < 1e-3


def test_resample_odd_ratio_is_fast():
    audio = np.random.default_rng(0).standard_normal((2, 50854 * 10)).astype(np.float32)
    resample(audio[:, :1000], 50854, SR)  # filter design is cached after the first call
    start = time.perf_counter()
    out = resample(audio, 50854, SR)
    assert time.perf_counter() - start < 2.0
    assert out.shape == (2, SR * 10)


def test_resample_keeps_tensor_type_and_identity():
    audio = torch.from_numpy(_sine(440, 44100)).reshape(1, -1)
    out = resample(audio, 44100, SR)
    assert isinstance(out, torch.Tensor) and out.shape == (1, SR) and out.dtype == torch.float32
    same = np.zeros(10, np.float32)
    assert resample(same, SR, SR) is same


def test_resample_by_ratio_changes_length():
    assert resample_by_ratio(np.zeros(1600, np.float32), 17, 16).shape == (1700,)


def test_mel_spectrogram_shape_and_magnitude():
    audio = torch.from_numpy(np.stack([_sine(1000, SR), _sine(3000, SR)]))
    mel = mel_spectrogram(audio, SR, n_fft=1024, hop_length=256, n_mels=64)
    assert mel.shape == (2, 64, SR // 256 + 1)
    assert (mel >= 0).all()
    # Higher tone -> energy in a higher band.
    assert mel[1].mean(-1).argmax() > mel[0].mean(-1).argmax()


def test_mel_distance_zero_for_identical_audio():
    noise = _noise()
    assert mel_distance(noise, noise, SR) == pytest.approx(0.0, abs=1e-6)


def test_mel_distance_calibration_points():
    noise = _noise()
    sos = scipy.signal.butter(8, 12000, fs=SR, output="sos")
    lowpassed = scipy.signal.sosfilt(sos, noise).astype(np.float32)
    assert 1.0 <= mel_distance(noise, lowpassed, SR) <= 2.5
    assert 17.0 <= mel_distance(noise, np.zeros_like(noise), SR) <= 22.0


def test_mel_distance_accepts_batches_and_trims_length():
    noise = torch.from_numpy(np.stack([_noise(1.0, 1), _noise(1.0, 2)]))
    value = mel_distance(noise, noise[..., :-100] * 0.5, SR)
    assert 0.5 < value < 5
    loss = mel_distance_tensor(noise, (noise * 0.5).requires_grad_(), SR)
    loss.backward()  # differentiable for training


def test_loudness_of_a_reference_sine():
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS; -20 dB -> about -23.
    assert loudness_lufs(_sine(997, SR, 3.0, amplitude=0.1), SR) == pytest.approx(-23.0, abs=0.3)
    stereo = np.stack([_sine(997, SR, 3.0, 0.1)] * 2)
    assert loudness_lufs(stereo, SR) == pytest.approx(-20.0, abs=0.3)


def test_loudness_edge_cases():
    assert loudness_lufs(np.zeros((1, SR), np.float32), SR) == float("-inf")
    assert np.isfinite(loudness_lufs(_sine(997, SR, 0.1), SR))  # shorter than a gating block
    six = np.stack([_sine(997, SR, 1.0, 0.1)] * 6)
    assert np.isfinite(loudness_lufs(six, SR))
    assert np.isfinite(loudness_lufs(np.stack([_sine(997, SR, 1.0, 0.1)] * 8), SR))
