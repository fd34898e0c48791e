"""Discriminators for the adversarial phase and their hinge + feature-matching losses."""

from __future__ import annotations

import math

import pytest
import torch

from sda.training.discriminators import (
    Discriminators,
    PeriodDiscriminator,
    ResolutionDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)

PERIODS = (2, 3, 5)
RESOLUTIONS = (256, 512)


@pytest.fixture(scope="module")
def judges() -> Discriminators:
    torch.manual_seed(0)
    return Discriminators(periods=PERIODS, resolutions=RESOLUTIONS, channels=4)


def audio(batch: int = 2, samples: int = 4_000, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(batch, samples, generator=torch.Generator().manual_seed(seed))


def judgement(*logits: float) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """A made-up Judgement: one sub-discriminator per value, every logit equal to it."""
    return [(torch.full((2, 3), value), [torch.full((2, 4), value)]) for value in logits]


def test_one_judgement_per_member_with_logits_and_feature_maps(judges: Discriminators) -> None:
    result = judges(audio())
    assert len(result) == len(PERIODS) + len(RESOLUTIONS)
    for logits, features in result[: len(PERIODS)]:
        assert logits.ndim == 2 and logits.shape[0] == 2
        assert len(features) == 6  # 4 strided convs, 1 plain conv, the output
    for logits, features in result[len(PERIODS) :]:
        assert logits.ndim == 2 and logits.shape[0] == 2
        assert len(features) == 5  # 4 convs and the output
    for (logits, features), period in zip(result, PERIODS, strict=False):
        assert all(feature.shape[-1] == period for feature in features)  # folded by the period
        assert features[-1].flatten(1).shape == logits.shape


@pytest.mark.parametrize("samples", [4_000, 4_001, 7])
def test_period_discriminator_takes_any_length(samples: int) -> None:
    torch.manual_seed(0)
    period = PeriodDiscriminator(period=5, channels=4)
    logits, features = period(audio(samples=samples))
    assert torch.isfinite(logits).all() and logits.shape[0] == 2
    rows = math.ceil(samples / 5)  # padded to whole periods
    assert features[0].shape[2:] == (math.ceil(rows / 3), 5)  # then strided by 3 in time


def test_resolution_discriminator_reads_a_log_spectrogram() -> None:
    torch.manual_seed(0)
    member = ResolutionDiscriminator(n_fft=256, channels=4)
    _, features = member(audio(samples=2_560))
    frames, bins = 2_560 // 64 + 1, 129
    assert features[0].shape == (2, 4, math.ceil(bins / 2), math.ceil(frames / 2))
    quiet, loud = member(audio(samples=2_560))[0], member(100 * audio(samples=2_560))[0]
    assert not torch.allclose(quiet, loud)  # level matters to it


@torch.no_grad()
def test_feature_matching_is_zero_for_identical_audio(judges: Discriminators) -> None:
    real = judges(audio(seed=1))
    same = judges(audio(seed=1))
    assert float(feature_matching_loss(real, same)) == 0.0
    other = judges(audio(seed=2))
    assert float(feature_matching_loss(real, other)) > 0.0


def test_feature_matching_trains_the_generator_side_only(judges: Discriminators) -> None:
    real_audio = audio(seed=1).requires_grad_(True)
    fake_audio = audio(seed=2).requires_grad_(True)
    feature_matching_loss(judges(real_audio), judges(fake_audio)).backward()
    assert fake_audio.grad is not None and fake_audio.grad.abs().sum() > 0
    assert real_audio.grad is None  # the real side's maps are targets
    judges.zero_grad()


def test_hinge_losses_reward_confident_right_answers() -> None:
    assert float(discriminator_loss(judgement(2.0, 1.5), judgement(-2.0, -1.0))) == 0.0
    # undecided (all zeros): 1 for the real side + 1 for the fake side, averaged over members
    assert float(discriminator_loss(judgement(0.0, 0.0), judgement(0.0, 0.0))) == 2.0
    # fooled: real scored -1, fake scored +1 -> (2 + 2) per member
    assert float(discriminator_loss(judgement(-1.0), judgement(1.0))) == 4.0
    assert float(generator_loss(judgement(1.0, 3.0))) == 0.0  # the fake already passes as real
    assert float(generator_loss(judgement(0.0, -1.0))) == pytest.approx(1.5)


def test_adversarial_gradients_flow_to_the_audio_and_the_judges(judges: Discriminators) -> None:
    judges.zero_grad()
    fake_audio = audio(seed=3).requires_grad_(True)
    generator_loss(judges(fake_audio)).backward()
    assert fake_audio.grad is not None and fake_audio.grad.abs().sum() > 0
    judges.zero_grad()
    loss = discriminator_loss(judges(audio(seed=4)), judges(audio(seed=3)))
    loss.backward()
    grads = [p.grad for p in judges.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    judges.zero_grad()
