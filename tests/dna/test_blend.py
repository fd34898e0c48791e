"""Latent blends and morphs, and the codec bridge (encode, decode with k levels, foreign codes)."""

from __future__ import annotations

import factories
import numpy as np
import pytest

from sda.dna import blend, codec_bridge
from sda.dna.codes import Codes, CodesError
from sda.models.codec import Codec


@pytest.fixture(scope="module")
def codec() -> Codec:
    return factories.seeded_tiny_codec()


def tone(freq: float, seconds: float = 0.25, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (
        0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sign(np.sin(2 * np.pi * 3 * freq * t))
    ).astype(np.float32)


@pytest.fixture(scope="module")
def pair(codec) -> tuple[Codes, Codes]:
    a = codec_bridge.encode_audio(codec, tone(220), source="low.wav")
    b = codec_bridge.encode_audio(codec, tone(1760, seconds=0.3), source="high.wav")
    return a, b


def test_encode_records_model_and_source(codec, pair):
    a, _ = pair
    assert a.bundle_id == codec.fingerprint()
    assert a.levels == 4 and a.codebook_size == 16
    assert a.frame_rate == pytest.approx(48_000 / 128)
    assert a.frames == -(-12_000 // 128)
    assert a.provenance["sources"] == ["low.wav"]
    assert a.provenance["operations"][0]["op"] == "encode"


@pytest.mark.parametrize("fit", ["shortest", "longest", "a", "b"])
def test_blend_ends_reproduce_a_and_b_exactly(codec, pair, fit):
    a, b = pair
    from sda.dna.edit import fit_pair

    ia, ib = fit_pair(a, b, fit)
    assert np.array_equal(blend.blend(codec, a, b, 0.0, fit=fit).indices, ia)
    assert np.array_equal(blend.blend(codec, a, b, 1.0, fit=fit).indices, ib)


def test_blend_in_between_is_a_new_valid_grid(codec, pair):
    a, b = pair
    mixed = blend.blend(codec, a, b, 0.5)
    assert mixed.frames == min(a.frames, b.frames)
    assert mixed.provenance["operations"][-1] == {
        "op": "blend",
        "alpha": 0.5,
        "fit": "shortest",
        "b": {"sources": ["high.wav"], "frames": b.frames},
    }
    assert not np.array_equal(mixed.indices, a.indices[:, : mixed.frames])
    assert codec_bridge.decode(codec, mixed).shape == (mixed.frames * 128,)
    # blending a sound with itself changes nothing, at any amount
    assert np.array_equal(blend.blend(codec, a, a, 0.37).indices, a.indices)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), float("inf"), "half"])
def test_alpha_outside_0_1_is_refused(codec, pair, alpha):
    with pytest.raises(CodesError, match="alpha must"):
        blend.blend(codec, *pair, alpha)


def test_morph_latents_holds_a_before_and_b_after(codec, pair):
    a, b = pair
    morphed = blend.morph_latents(codec, a, b, start=20, end=60)
    frames = morphed.frames
    assert np.array_equal(morphed.indices[:, :20], a.indices[:, :20])
    assert np.array_equal(morphed.indices[:, 60:], b.indices[:, 60:frames])
    with pytest.raises(CodesError, match="morph range"):
        blend.morph_latents(codec, a, b, start=50, end=40)


def test_decode_with_the_first_k_levels(codec, pair):
    a, _ = pair
    full = codec_bridge.decode(codec, a)
    coarse = codec_bridge.decode(codec, a, levels=1)
    assert full.shape == coarse.shape == (a.frames * 128,)
    assert not np.allclose(full, coarse)
    assert np.array_equal(full, codec_bridge.decode(codec, a))  # deterministic
    for bad in (0, 5):
        with pytest.raises(CodesError, match="1..4 levels"):
            codec_bridge.decode(codec, a, levels=bad)


def test_codes_from_another_model_are_refused(codec, pair):
    a, b = pair
    foreign = Codes(
        indices=a.indices, bundle_id="ffffffffffffffff", frame_rate=a.frame_rate, codebook_size=16
    )
    with pytest.raises(CodesError, match="were made by model ffffffffffffffff"):
        codec_bridge.decode(codec, foreign)
    with pytest.raises(CodesError, match="different models"):
        blend.blend(codec, a, foreign, 0.5)
    with pytest.raises(CodesError, match="were made by model"):
        blend.blend(codec, foreign, foreign, 0.5)


def test_codes_and_audio_files_in_and_out(codec, pair, tmp_path):
    from sda.audio.io import load_audio, write_audio

    a, _ = pair
    codes_path = codec_bridge.save_codes_or_audio(codec, a, tmp_path / "a.sdacodes")
    assert np.array_equal(codec_bridge.load_codes_or_audio(codec, codes_path).indices, a.indices)
    wav = codec_bridge.save_codes_or_audio(codec, a, tmp_path / "a.wav")
    assert load_audio(wav).shape == (1, a.frames * 128)
    with pytest.raises(CodesError, match="already exists"):
        codec_bridge.save_codes_or_audio(codec, a, wav)
    write_audio(tmp_path / "in.wav", tone(440), 48_000)
    encoded = codec_bridge.load_codes_or_audio(codec, tmp_path / "in.wav")
    assert encoded.provenance["sources"] == ["in.wav"]
    with pytest.raises(CodesError, match="expected a codes file"):
        codec_bridge.load_codes_or_audio(codec, tmp_path / "notes.txt")
