"""The codec's reconstruction losses: zero when right, growing with the error, and trainable."""

from __future__ import annotations

import math

import pytest
import torch

from sda.audio.dsp import mel_distance_tensor
from sda.training.losses import EnvelopeLoss, HeadMagnitudeLoss, SpectralLoss

RATE = 48_000
ONSET = 2_400  # the hit starts 50 ms in


def hit(samples: int = 9_600, seed: int = 0) -> torch.Tensor:
    """(1, samples): silence, then a noise burst with an instant attack and an exponential tail."""
    generator = torch.Generator().manual_seed(seed)
    audio = torch.zeros(1, samples)
    tail = torch.arange(samples - ONSET)
    burst = torch.randn(samples - ONSET, generator=generator) * torch.exp(-tail / 2_000.0)
    audio[0, ONSET:] = 0.5 * burst
    return audio


def smeared(audio: torch.Tensor, samples: int) -> torch.Tensor:
    """The same hit with its attack faded in over `samples` instead of at once."""
    ramp = torch.ones(audio.shape[-1])
    ramp[ONSET : ONSET + samples] = torch.linspace(0.0, 1.0, samples)
    return audio * ramp


@pytest.fixture(scope="module")
def spectral() -> SpectralLoss:
    return SpectralLoss(sample_rate=RATE)


def test_spectral_losses_are_zero_for_identical_audio(spectral: SpectralLoss) -> None:
    reference = hit()
    losses = spectral(reference.clone(), reference)
    assert float(losses.mel) == 0.0 and float(losses.stft) == 0.0


def test_spectral_losses_grow_with_the_error(spectral: SpectralLoss) -> None:
    reference = hit()
    noise = torch.randn(reference.shape, generator=torch.Generator().manual_seed(1))
    results = [spectral(reference + level * noise, reference) for level in (0.001, 0.01, 0.1)]
    mels = [float(r.mel) for r in results]
    stfts = [float(r.stft) for r in results]
    assert 0 < mels[0] < mels[1] < mels[2]
    assert 0 < stfts[0] < stfts[1] < stfts[2]


def test_mel_loss_is_the_benchmark_metric(spectral: SpectralLoss) -> None:
    reference = torch.cat([hit(seed=2), hit(seed=3)])  # a batch of two
    estimate = reference + 0.02 * torch.randn(reference.shape)
    expected = mel_distance_tensor(reference, estimate, RATE)
    torch.testing.assert_close(spectral(estimate, reference).mel, expected)


def test_a_training_comb_reads_every_other_frame_from_a_random_first() -> None:
    strided = SpectralLoss(sample_rate=RATE, frame_stride=2)
    audio = hit()
    for window in (32, 512, 2048):
        every = strided._magnitude(audio, window)
        for first in (0, 1):
            torch.testing.assert_close(
                strided._magnitude(audio, window, first, 2), every[:, first::2]
            )
    torch.manual_seed(0)
    firsts = {strided._frames_kept() for _ in range(40)}
    assert firsts == {(0, 2), (1, 2)}
    strided.eval()  # judging reads every frame
    assert strided._frames_kept() == (0, 1)


def test_a_strided_mel_loss_estimates_the_metric_without_bias() -> None:
    reference = torch.cat([hit(seed=4), hit(seed=5)])
    estimate = reference + 0.02 * torch.randn(
        reference.shape, generator=torch.Generator().manual_seed(6)
    )
    expected = float(mel_distance_tensor(reference, estimate, RATE))
    strided = SpectralLoss(sample_rate=RATE, frame_stride=4)
    torch.manual_seed(1)
    draws = [float(strided(estimate, reference).mel) for _ in range(64)]
    assert len(set(draws)) > 1  # each call reads another comb
    # the mean of the combs is the metric, up to the frames left over at the end of each comb
    assert sum(draws) / len(draws) == pytest.approx(expected, rel=0.02)
    strided.eval()
    assert float(strided(estimate, reference).mel) == pytest.approx(expected, rel=1e-5)


def test_the_frame_stride_is_checked() -> None:
    with pytest.raises(ValueError, match="frame_stride"):
        SpectralLoss(sample_rate=RATE, frame_stride=3)


def test_stft_loss_is_scale_sensitive(spectral: SpectralLoss) -> None:
    """Half the level costs a convergence of 0.5 plus |log 0.5| per bin wherever there is sound."""
    reference = 0.5 * torch.randn(1, 9_600, generator=torch.Generator().manual_seed(4))
    half = spectral(0.5 * reference, reference)
    assert float(half.stft) == pytest.approx(0.5 + math.log(2.0), rel=0.02)
    assert float(half.mel) == pytest.approx(7 * math.log10(2.0), rel=0.05)  # 7 mel scales
    quarter = spectral(0.25 * reference, reference)
    assert float(quarter.stft) > float(half.stft)
    louder = spectral(2.0 * reference, reference)  # too loud costs too, not only too quiet
    assert float(louder.stft) > 0.5


def test_a_silent_reference_costs_like_quiet_sound(spectral: SpectralLoss) -> None:
    """The side of a mono file in a stereo model is silence: an output at -60 dBFS against it
    costs a convergence of about 1 (plus the log distance), not the ~1e5 that once drove a
    decoder trained from scratch to silence for good."""
    silent = torch.zeros(2, 9_600)
    quiet = 1e-3 * torch.randn(2, 9_600, generator=torch.Generator().manual_seed(5))
    assert float(spectral(quiet, silent).stft) < 20
    louder = spectral(10 * quiet, silent)
    assert float(louder.stft) > float(spectral(quiet, silent).stft)  # still worse when louder


def test_spectral_gradients_reach_the_estimate_only(spectral: SpectralLoss) -> None:
    reference = hit().requires_grad_(True)
    estimate = (0.8 * hit().detach()).requires_grad_(True)
    losses = spectral(estimate, reference)
    (losses.mel + losses.stft).backward()
    assert estimate.grad is not None and torch.isfinite(estimate.grad).all()
    assert estimate.grad.abs().sum() > 0
    assert reference.grad is None  # the target side runs without autograd, by design


def test_spectral_settings_must_pair_windows_and_bands() -> None:
    with pytest.raises(ValueError, match="band"):
        SpectralLoss(sample_rate=RATE, mel_windows=(512, 1024), mel_bands=(80,))


def test_stft_only_and_custom_scales() -> None:
    reference = hit()
    loss = SpectralLoss(sample_rate=RATE, mel_windows=(1024,), mel_bands=(80,), stft_windows=())
    losses = loss(0.5 * reference, reference)
    assert float(losses.stft) == 0.0 and float(losses.mel) > 0.2  # no STFT scale asked for


def test_envelope_loss_is_zero_for_identical_audio_and_grows_with_level_error() -> None:
    envelope = EnvelopeLoss()
    reference = hit()
    assert float(envelope(reference.clone(), reference)) == 0.0
    errors = [float(envelope(gain * reference, reference)) for gain in (0.9, 0.7, 0.5)]
    assert 0 < errors[0] < errors[1] < errors[2]


def test_envelope_loss_penalizes_a_smeared_attack() -> None:
    envelope = EnvelopeLoss()
    reference = hit()
    costs = [float(envelope(smeared(reference, n), reference)) for n in (96, 480, 1_440)]
    assert 0 < costs[0] < costs[1] < costs[2]  # the longer the smear, the dearer
    # a 30 ms fade-in costs more than the whole hit, attack intact, 0.4 dB quieter
    assert costs[2] > float(envelope(0.95 * reference, reference))


def test_envelope_loss_hears_a_gated_tail_but_not_below_its_floor() -> None:
    envelope = EnvelopeLoss(floor=1e-4)
    reference = hit()
    gated = reference.clone()
    gated[0, 6_000:] = 0.0
    assert float(envelope(gated, reference)) > float(envelope(0.9 * reference, reference))
    whisper = 1e-6 * torch.randn(1, 4_800)  # below the floor: as silent as silence
    assert float(envelope(torch.zeros(1, 4_800), whisper)) == 0.0


def test_envelope_gradients_reach_the_estimate() -> None:
    estimate = (0.5 * hit()).requires_grad_(True)
    EnvelopeLoss()(estimate, hit()).backward()
    assert estimate.grad is not None and estimate.grad.abs().sum() > 0


def _head_grid_log_magnitude(audio: torch.Tensor, n_fft: int = 512, hop: int = 128):
    frames = audio.shape[-1] // hop
    pad = (n_fft - hop) // 2
    padded = torch.nn.functional.pad(audio, (pad, pad))
    spec = torch.stft(
        padded, n_fft, hop, window=torch.hann_window(n_fft), center=False, return_complex=True
    )
    return spec[..., :frames].abs().clamp(min=1e-3).log()


def test_the_head_magnitude_loss_wants_the_peak_where_the_original_has_it():
    rate, loss = 48000, HeadMagnitudeLoss(n_fft=512, hop_length=128)
    time = torch.arange(94 * 128) / rate  # whole frames
    tone = 0.3 * torch.sin(2 * math.pi * 1000.0 * time)[None]
    own = _head_grid_log_magnitude(tone)
    assert float(loss(own, tone)) < 1e-3  # its own frames: no error
    wrong = _head_grid_log_magnitude(0.3 * torch.sin(2 * math.pi * 656.0 * time)[None])
    wrong.requires_grad_(True)
    error = loss(wrong, tone)
    assert float(error.detach()) > 0.2  # most bins lie at the floor in both
    error.backward()
    peak = int(own[0, :, 20].argmax())
    assert wrong.grad[0, peak, 20] < 0  # the original's peak bin is asked to grow
