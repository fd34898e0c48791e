"""STFT analysis and inverse-STFT synthesis: the codec's frame grid, bins, and exact inversion."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sda.models.spectral import ISTFTHead, LogMagnitudeSTFT, istft_same, overlap_add

RATE = 48_000


def sine(frequency: float, samples: int, *, batch: int = 1) -> torch.Tensor:
    t = torch.arange(samples) / RATE
    return torch.sin(2 * math.pi * frequency * t).repeat(batch, 1)  # (batch, samples)


def same_padded_stft(audio: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """The complex STFT on the "same" grid that `istft_same` inverts: (batch, bins, samples // hop)."""
    pad = (n_fft - hop) // 2
    padded = F.pad(audio, (pad, pad))
    window = torch.hann_window(n_fft)
    return torch.stft(
        padded, n_fft, hop, window=window, center=False, return_complex=True
    )  # fmt: skip


def test_analysis_frames_line_up_with_the_hop() -> None:
    stft = LogMagnitudeSTFT(n_fft=1024, hop_length=256)
    for samples in (256 * 10, 256 * 10 + 100):
        out = stft(torch.randn(3, samples))
        assert out.shape == (3, 513, samples // 256)


def test_a_sine_lands_in_its_bin() -> None:
    n_fft, hop = 1024, 256
    stft = LogMagnitudeSTFT(n_fft=n_fft, hop_length=hop)
    for bin_index in (10, 57, 300):
        frequency = bin_index * RATE / n_fft
        out = stft(sine(frequency, hop * 40))
        peaks = out[0, :, 4:-4].argmax(dim=0)  # interior frames, away from the edges
        assert (peaks == bin_index).all(), frequency


def test_silence_sits_at_the_floor() -> None:
    out = LogMagnitudeSTFT(n_fft=512, hop_length=128, floor=1e-5)(torch.zeros(1, 128 * 8))
    torch.testing.assert_close(out, torch.full_like(out, math.log(1e-5)))


def test_zero_edges_hear_silence_before_a_sound_and_reflect_does_not() -> None:
    audio = sine(1000.0, 256 * 20)
    zeros = LogMagnitudeSTFT(n_fft=1024, hop_length=256, edge_padding="zeros")(audio)
    mirror = LogMagnitudeSTFT(n_fft=1024, hop_length=256, edge_padding="reflect")(audio)
    first_energy = lambda spec: spec[0, :, 0].exp().square().sum()  # noqa: E731
    assert first_energy(zeros) < 0.9 * first_energy(mirror)
    torch.testing.assert_close(zeros[..., 2:-2], mirror[..., 2:-2])  # only the edges differ
    # a signal shorter than the pad cannot be mirrored: both read zeros
    short = torch.randn(1, 300)  # longer than a hop, shorter than the 384-sample pad
    torch.testing.assert_close(
        LogMagnitudeSTFT(n_fft=1024, hop_length=256, edge_padding="reflect")(short),
        LogMagnitudeSTFT(n_fft=1024, hop_length=256)(short),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=128, hop_length=256),  # hop longer than the window
        dict(n_fft=1024, hop_length=255),  # odd padding
        dict(n_fft=1024, hop_length=256, edge_padding="circular"),
    ],
)
def test_bad_analysis_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="n_fft|edge_padding"):
        LogMagnitudeSTFT(**kwargs)


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (512, 128), (384, 128)])
def test_inverse_of_the_same_grid_stft_returns_the_signal(n_fft: int, hop: int) -> None:
    torch.manual_seed(0)
    audio = torch.randn(2, hop * 30)
    spec = same_padded_stft(audio, n_fft, hop)
    assert spec.shape[-1] == 30
    out = istft_same(
        spec.real, spec.imag, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft)
    )
    assert out.shape == audio.shape  # exactly frames * hop samples
    torch.testing.assert_close(out, audio, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size,hop", [(8, 2), (8, 4), (6, 4), (5, 3)])
def test_overlap_add_sums_shifted_segments(size: int, hop: int) -> None:
    torch.manual_seed(0)
    segments = torch.randn(2, 7, size)  # (batch, frames, size)
    expected = torch.zeros(2, 6 * hop + size)
    for frame in range(7):
        expected[:, frame * hop : frame * hop + size] += segments[:, frame]
    torch.testing.assert_close(overlap_add(segments, hop), expected)


def test_synthesis_head_shapes_gain_and_cap() -> None:
    torch.manual_seed(0)
    head = ISTFTHead(dim=8, n_fft=256, hop_length=64)
    x = torch.randn(2, 8, 12, requires_grad=True)  # (batch, dim, frames)
    audio = head(x)
    assert audio.shape == (2, 12 * 64)
    assert audio.abs().max() < 0.05  # it starts quiet, not as loud noise
    doubled = head(x, log_gain=torch.full((2, 1, 12), math.log(2.0)))
    torch.testing.assert_close(doubled, 2 * audio)  # the gain is added to every bin's log-magnitude
    audio.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert head.proj.weight.grad is not None
    # however loud the prediction, every bin's magnitude stops at n_fft (a log cap)
    huge = head(x.detach(), log_gain=torch.full((2, 1, 12), 100.0))
    assert torch.isfinite(huge).all()
    assert huge.abs().max() <= 4 * 256
