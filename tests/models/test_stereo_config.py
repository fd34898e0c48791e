"""A codec config says whether the model is stereo; mono models keep their identity."""

from __future__ import annotations

import pytest

from sda.library.bundle import Bundle, BundleError
from sda.models.codec import Codec, CodecConfig, CodecError
from sda.models.stereo_codec import StereoCodec

TINY = dict(
    n_fft=256, hop_length=64, latent_dim=8, num_levels=3, codebook_size=8,
    encoder_dim=16, encoder_blocks=1, encoder_latent_blocks=0,
    decoder_dim=16, decoder_blocks=1, decoder_latent_blocks=0,
)  # fmt: skip


def test_mono_fingerprint_ignores_the_stereo_settings_at_their_mono_values():
    codec = Codec(CodecConfig(**TINY))
    before = codec.fingerprint()
    codec.config.side_gain = 4.0  # meaningless for mono, but a different value is a new identity
    assert codec.fingerprint() != before
    codec.config.side_gain = 2.0
    assert codec.fingerprint() == before
    codec.config.channels = 2
    assert codec.fingerprint() != before


def test_old_configs_load_as_mono():
    config = CodecConfig.from_dict({**TINY})
    assert (config.channels, config.grid_levels) == (1, 3)


def test_stereo_grid_levels_and_bundle_view():
    config = CodecConfig(**TINY, channels=2, side_levels=2, side_gain=3.0)
    assert config.grid_levels == 5
    assert CodecConfig(**TINY, channels=2).grid_levels == 6
    bundle = Bundle(path=None, meta={}, config={}, codec=Codec(config))
    assert (bundle.channels, bundle.side_levels, bundle.side_gain) == (2, 2, 3.0)
    assert isinstance(bundle.stereo, StereoCodec)
    assert (bundle.stereo.side_levels, bundle.stereo.side_gain) == (2, 3.0)


def test_a_mono_bundle_has_no_stereo_view():
    bundle = Bundle(path=None, meta={"name": "kit"}, config={}, codec=Codec(CodecConfig(**TINY)))
    assert bundle.channels == 1
    with pytest.raises(BundleError, match="kit is a mono model"):
        _ = bundle.stereo


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"channels": 3}, "channels must be 1"),
        ({"side_gain": 0.5}, "side_gain must lie"),
        ({"side_levels": 4}, "side_levels must be 0"),
        ({"side_levels": -1}, "side_levels must be >= 0"),
    ],
)
def test_bad_stereo_settings_are_refused(values, words):
    with pytest.raises(CodecError, match=words):
        CodecConfig(**TINY, **values)
