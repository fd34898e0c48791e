"""The mid/side stereo wrapper around the mono codec: exact L/R <-> M/S, shapes, shared weights."""

from __future__ import annotations

import factories
import numpy as np
import pytest
import torch

from sda.models.codec import Codec, CodecError
from sda.models.stereo_codec import StereoCodec, mid_side_batch, to_left_right, to_mid_side


@pytest.fixture(scope="module")
def codec() -> Codec:
    return factories.seeded_tiny_codec()


def test_left_right_to_mid_side_and_back_is_exact():
    # audio is float32: in float64, L + R and L - R are exact, and so is the way back
    stereo = np.random.default_rng(0).standard_normal((3, 2, 1000)).astype(np.float32)
    stereo = stereo.astype(np.float64)
    mid, side = to_mid_side(stereo)
    np.testing.assert_array_equal(mid, (stereo[:, 0] + stereo[:, 1]) / 2)
    np.testing.assert_array_equal(to_left_right(mid, side), stereo)  # exact in float64
    as_tensor = torch.from_numpy(stereo)
    assert torch.equal(to_left_right(*to_mid_side(as_tensor)), as_tensor)
    batch = mid_side_batch(torch.from_numpy(stereo).float(), side_gain=2.0)
    assert batch.shape == (6, 1000)
    torch.testing.assert_close(batch[3:], torch.from_numpy(side).float() * 2)


def test_encode_gives_a_mid_grid_and_a_shorter_side_grid(codec):
    stereo = StereoCodec(codec, side_levels=2)
    audio = torch.randn(2, 2, 3000) * 0.1
    codes = stereo.encode(audio)
    frames = codec.num_frames(3000)
    assert codes.mid.shape == (2, 4, frames) and codes.side.shape == (2, 2, frames)
    mono = codec.encode((audio[:, 0] + audio[:, 1]) / 2)
    assert torch.equal(codes.mid, mono)  # the mid grid is the downmix's mono grid
    decoded = stereo.decode(codes)
    assert decoded.shape == (2, 2, frames * codec.config.samples_per_frame)
    downmix = (decoded[:, 0] + decoded[:, 1]) / 2
    torch.testing.assert_close(downmix, codec.decode(mono), atol=1e-5, rtol=0)
    assert stereo.fingerprint() == codec.fingerprint() and stereo.channels == 2


def test_the_side_gain_is_undone_on_decode(codec):
    audio = torch.randn(1, 2, 2000) * 0.05
    plain = StereoCodec(codec, side_gain=1.0).reconstruct_unquantized(audio)
    lifted = StereoCodec(codec, side_gain=4.0).reconstruct_unquantized(audio)
    mid_plain, side_plain = to_mid_side(plain)
    mid_lifted, side_lifted = to_mid_side(lifted)
    torch.testing.assert_close(mid_plain, mid_lifted, atol=1e-5, rtol=0)
    ratio = side_lifted.pow(2).sum() / side_plain.pow(2).sum()
    assert 0.05 < float(ratio) < 20  # the same order of level, not 16x louder


def test_the_mono_codec_is_left_as_it_was(codec):
    before = codec.fingerprint()
    StereoCodec(codec, side_levels=1).encode(torch.zeros(1, 2, 1000))
    assert codec.fingerprint() == before and not hasattr(codec, "channels")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"side_levels": 0}, "side_levels"),
        ({"side_levels": 5}, "side_levels"),
        ({"side_gain": 0.5}, "side_gain"),
    ],
)
def test_bad_settings_are_refused(codec, kwargs, message):
    with pytest.raises(CodecError, match=message):
        StereoCodec(codec, **kwargs)


def test_mono_input_is_refused_with_the_way_to_go(codec):
    with pytest.raises(CodecError, match="mono sound goes through the codec itself"):
        StereoCodec(codec).encode(torch.zeros(1, 1000))
