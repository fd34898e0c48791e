"""Fine-time band envelopes: a click lights the sub-frame it sits in; the encoder reads them."""

from __future__ import annotations

import factories
import pytest
import torch

from sda.models.codec import Codec, CodecConfig, CodecError
from sda.models.fine_time import SUB_FRAMES, FineTimeEnvelopes, band_matrix

HOP = 512


@pytest.mark.parametrize("offset", [40, 200, 330, 500])
def test_a_click_lights_the_sub_frame_it_sits_in(offset: int) -> None:
    envelopes = FineTimeEnvelopes(hop_length=HOP, bands=16)
    audio = torch.zeros(1, 8 * HOP)
    frame = 4
    audio[0, frame * HOP + offset] = 1.0
    features = envelopes(audio)  # (1, SUB_FRAMES * bands, frames)
    assert features.shape == (1, SUB_FRAMES * 16, 8)
    per_sub = features[0, :, frame].view(SUB_FRAMES, 16).mean(dim=1)
    expected = offset // (HOP // SUB_FRAMES)
    # the short window spreads a click over its neighbours; the loudest is the one holding it
    assert int(per_sub.argmax()) == expected
    # and a frame with no click within reach of its window reads the floor
    assert float(features[0, :, 1].max()) == pytest.approx(0.5 * torch.log(torch.tensor(1e-10)))


def test_bands_cover_every_bin_once() -> None:
    matrix = band_matrix(129, 16)
    assert torch.equal(matrix.sum(dim=1), torch.ones(129))
    assert bool((matrix.sum(dim=0) >= 1).all())
    # log-spaced: the top band is the widest
    assert int(matrix.sum(dim=0).argmax()) == 15


def test_a_codec_with_fine_time_encodes_and_rejects_bad_settings() -> None:
    config = CodecConfig(**{**factories.TINY_CODEC, "fine_time_bands": 4})
    codec = Codec(config)
    audio = torch.randn(2, 48000) * 0.1
    latents = codec.encode_latents(audio)
    assert latents.shape[:2] == (2, config.latent_dim)
    assert codec.encoder.embed.in_channels == config.n_fft // 2 + 1 + SUB_FRAMES * 4
    # the features reach the latents: their input weights get a gradient
    latents.square().sum().backward()
    fine = codec.encoder.embed.weight.grad[:, config.n_fft // 2 + 1 :]
    assert fine.shape[1] == SUB_FRAMES * 4
    assert float(fine.abs().sum()) > 0
    with pytest.raises(CodecError, match="fine_time_bands"):
        CodecConfig(**{**factories.TINY_CODEC, "fine_time_bands": 200})
    with pytest.raises(CodecError, match="fine_time_bands"):
        CodecConfig(**{**factories.TINY_CODEC, "hop_length": 68, "fine_time_bands": 4})
