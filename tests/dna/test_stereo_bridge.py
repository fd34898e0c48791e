"""Stereo sounds through a real (tiny) codec: encode to mid and side grids, decode to L/R, blends
grid by grid, and the refusal a mono model gives stereo grids."""

from __future__ import annotations

import factories
import numpy as np
import pytest
import torch

from sda.dna import blend, codec_bridge
from sda.dna.codes import CodesError
from sda.dna.stereo_bridge import decode_stereo, encode_stereo, silent_side
from sda.models.codec import Codec
from sda.models.stereo_codec import StereoCodec


@pytest.fixture(scope="module")
def codec() -> Codec:
    return factories.seeded_tiny_codec()


@pytest.fixture(scope="module")
def stereo(codec) -> StereoCodec:
    return StereoCodec(codec, side_levels=2)


def _wide(seed: int, seconds: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 48_000)) / 48_000
    left = 0.3 * np.sin(2 * np.pi * 220 * (1 + seed) * t)
    right = 0.2 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


def test_stereo_audio_encodes_to_two_grids_and_decodes_to_left_and_right(codec, stereo):
    codes = encode_stereo(stereo, _wide(0), source="wide.wav")
    assert codes.channels == 2 and codes.side_levels == 2 and codes.levels == 4
    assert codes.bundle_id == codec.fingerprint()  # the mid is a grid of the mono model
    assert codes.provenance["operations"][-1]["channels"] == 2
    audio = decode_stereo(stereo, codes)
    assert audio.shape == (2, codes.frames * codec.config.samples_per_frame)
    mid = codec_bridge.decode(codec, codes.mid)  # the mono codec decodes the downmix's grid
    np.testing.assert_allclose((audio[0] + audio[1]) / 2, mid, atol=1e-5)
    assert np.abs(audio[0] - audio[1]).max() > 1e-3  # a real side, not a centred copy
    fewer = decode_stereo(stereo, codes, levels=1)
    assert fewer.shape == audio.shape and not np.allclose(fewer, audio)


def test_a_mono_grid_decodes_centred_and_mono_models_refuse_stereo(codec, stereo):
    mono = codec_bridge.encode_audio(codec, _wide(0)[0])
    centred = decode_stereo(stereo, mono)
    assert np.array_equal(centred[0], centred[1])
    codes = encode_stereo(stereo, _wide(0))
    with pytest.raises(CodesError, match="stereo .* mono model: use a stereo model"):
        decode_stereo(codec, codes)
    with pytest.raises(CodesError, match="mono model"):
        codec_bridge.decode(codec, codes)  # never a silent downmix
    with pytest.raises(CodesError, match="needs a stereo model"):
        encode_stereo(codec, _wide(0))
    with pytest.raises(CodesError, match=r"shape \(2, samples\)"):
        encode_stereo(stereo, _wide(0)[0])


def test_blends_go_grid_by_grid_with_their_own_amounts(codec, stereo):
    a, b = encode_stereo(stereo, _wide(0)), encode_stereo(stereo, _wide(1))
    assert np.array_equal(blend.blend(stereo, a, b, 0.0).side_indices, a.side_indices)
    full = blend.blend(stereo, a, b, 1.0)
    assert np.array_equal(full.indices, b.indices) and np.array_equal(
        full.side_indices, b.side_indices
    )
    own_room = blend.blend(stereo, a, b, 1.0, side_alpha=0.0)  # B's sound in A's room
    assert np.array_equal(own_room.indices, b.indices)
    assert np.array_equal(own_room.side_indices, a.side_indices)
    assert own_room.provenance["operations"][-1]["side_alpha"] == 0.0
    morph = blend.morph_latents(stereo, a, b)
    assert morph.channels == 2 and morph.frames == a.frames
    with pytest.raises(CodesError, match="mono model"):
        blend.blend(codec, a, b, 0.5)


def test_a_mono_sound_blended_with_a_stereo_one_counts_as_centred(codec, stereo):
    mono = codec_bridge.encode_audio(codec, _wide(2)[0])
    wide = encode_stereo(stereo, _wide(1))
    half = blend.blend(stereo, mono, wide, 0.0)
    silence = silent_side(stereo, mono, 2)
    assert np.array_equal(half.indices, mono.indices)
    assert np.array_equal(half.side_indices, silence.indices)
    with pytest.raises(CodesError, match="needs a stereo model"):
        blend.blend(codec, mono, wide, 0.5)


def test_the_bridge_and_the_model_wrapper_make_the_same_sound(stereo):
    audio = _wide(3)
    codes = encode_stereo(stereo, audio)
    direct = stereo.encode(torch.from_numpy(audio)[None])
    assert np.array_equal(codes.indices, direct.mid[0].numpy())
    assert np.array_equal(codes.side_indices, direct.side[0].numpy())
    np.testing.assert_allclose(
        decode_stereo(stereo, codes), stereo.decode(direct)[0].numpy(), atol=1e-5
    )
