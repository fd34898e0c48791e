"""The stereo image loss of a stereo codec's training: zero for the original, large for an image
collapsed to mono, bounded for a centred (mono) file, and differentiable."""

from __future__ import annotations

import factories
import numpy as np
import torch

from sda.training.codec_module import correlation, side_mid_db
from sda.training.losses import MONO_SIDE_DB, StereoImageLoss

RATE = 48000


def wide(count: int = 2) -> torch.Tensor:
    return torch.from_numpy(
        np.stack([factories.synth_stereo(0.5, seed=i, width=0.7) for i in range(count)])
    )


def test_the_original_image_costs_nothing_and_a_collapsed_one_costs_a_lot() -> None:
    loss = StereoImageLoss(sample_rate=RATE)
    reference = wide()
    same = loss(reference, reference)
    assert float(same.correlation) < 1e-5 and float(same.side_mid_db) < 1e-3
    collapsed = reference.mean(dim=1, keepdim=True).repeat(1, 2, 1)  # L = R = the mid
    errors = loss(collapsed, reference)
    assert float(errors.correlation) > 0.2
    assert float(errors.side_mid_db) > 10  # no side left at all


def test_a_centred_file_does_not_ask_for_an_exact_zero_side() -> None:
    loss = StereoImageLoss(sample_rate=RATE)
    mono = torch.from_numpy(factories.synth_sound("drone", seconds=0.5))[None]
    centred = torch.stack([mono, mono], dim=1)  # (1, 2, samples), no side
    nearly = centred + 1e-4 * torch.randn_like(centred)
    errors = loss(nearly, centred)
    assert float(errors.side_mid_db) <= 2 * MONO_SIDE_DB
    assert torch.isfinite(errors.correlation)


def test_the_image_loss_reaches_both_channels() -> None:
    loss = StereoImageLoss(sample_rate=RATE)
    reference = wide(1)
    estimate = (reference * torch.tensor([1.0, 0.3])[None, :, None]).requires_grad_(True)
    errors = loss(estimate, reference)
    (errors.correlation + errors.side_mid_db / 10).backward()
    assert estimate.grad is not None and estimate.grad[0, 0].abs().sum() > 0
    assert estimate.grad[0, 1].abs().sum() > 0


def test_broadband_figures_match_the_benchmark_formulas() -> None:
    reference = wide(1)
    left, right = reference[0].double().numpy()
    expected_corr = np.sum(left * right) / np.sqrt(np.sum(left**2) * np.sum(right**2))
    mid, side = (left + right) / 2, (left - right) / 2
    expected_db = 10 * np.log10(np.sum(side**2) / np.sum(mid**2))
    assert abs(float(correlation(reference)[0]) - expected_corr) < 1e-5
    assert abs(float(side_mid_db(reference)[0]) - expected_db) < 1e-3


def test_the_per_channel_loss_is_off_by_default_and_adds_its_term_when_asked() -> None:
    from dataclasses import replace

    from sda.models.codec import CodecConfig
    from sda.training.codec_module import CodecModule, CodecTrainingConfig

    config = CodecConfig(**{**factories.TINY_CODEC, "channels": 2, "side_direction": True})
    stereo = wide()
    default = CodecModule(config, training=CodecTrainingConfig())
    recon, _ = default._codec_batch(stereo)
    recon = recon + 0.01 * torch.randn_like(recon)  # a decode that is not exact
    image_only, logs = default._stereo_loss(recon, stereo)
    assert "train/mel_channels" not in logs  # the cost is not paid by default
    asked = CodecModule(config, training=replace(CodecTrainingConfig(), stereo_weight=0.5))
    both, logs = asked._stereo_loss(recon, stereo)
    channel = asked.spectral_loss(
        asked._rebuilt(recon, stereo).reshape(4, -1), stereo.reshape(4, -1)
    )
    weights = asked.settings
    term = 0.5 * (weights.mel_weight * channel.mel + weights.stft_weight * channel.stft)
    assert float(logs["train/mel_channels"]) > 0
    assert torch.allclose(both, image_only + term, rtol=1e-4)


def test_a_side_share_codes_every_mid_and_the_first_crops_sides(caplog) -> None:
    from dataclasses import replace

    from sda.models.codec import CodecConfig
    from sda.models.stereo_codec import mid_side_batch
    from sda.training.codec_module import CodecModule, CodecTrainingConfig

    config = CodecConfig(**{**factories.TINY_CODEC, "channels": 2, "side_direction": True})
    stereo = wide(4)
    half = CodecModule(config, training=replace(CodecTrainingConfig(), side_share=0.5))
    items, sided = half._codec_batch(stereo, half.settings.side_share)
    everything = mid_side_batch(stereo, config.side_gain)
    assert items.shape[0] == 6 and sided.shape[0] == 2  # 4 mids, then 2 sides
    assert torch.equal(items[:4], everything[:4]) and torch.equal(items[4:], everything[4:6])
    # those crops' left/right are rebuilt from their own mids and sides, as from a batch of two
    alone = mid_side_batch(stereo[:2], config.side_gain)
    assert torch.equal(half._rebuilt(items, sided), half._rebuilt(alone, stereo[:2]))
    # validation keeps every side
    items, sided = half._codec_batch(stereo)
    assert items.shape[0] == 8 and sided.shape[0] == 4
    # the k-means warm-up sizes the dead-code threshold for the batches training will see
    with caplog.at_level("INFO", logger="sda.training.codec_module"):
        half.warm_up([stereo])
    vectors = 6 * half.codec.num_frames(stereo.shape[-1])
    assert f"hits per batch of {vectors} vectors" in caplog.text
