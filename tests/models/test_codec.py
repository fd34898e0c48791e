"""The plain codec: shapes, code round trips, coarse-to-fine prefixes, a stable fingerprint."""

from __future__ import annotations

import math

import factories
import pytest
import torch

from sda.models.codec import Codec, CodecConfig, CodecError

# the shared tiny codec with fewer codes: 16 per level fit the test clips' frame counts
TINY = {**factories.TINY_CODEC, "codebook_size": 16, "kmeans_iters": 2}


@pytest.fixture
def codec() -> Codec:
    torch.manual_seed(0)
    model = Codec(CodecConfig(**TINY))
    audio = torch.randn(4, 48000) * 0.1
    # k-means needs many more vectors than codes: 4 x 375 frames for 16 codes
    assert model.quantizer.warm_up(model.encode_latents(audio))
    return model.eval()


def test_frame_rate_and_shapes(codec: Codec) -> None:
    config = codec.config
    assert config.samples_per_frame == 128
    assert config.frame_rate == pytest.approx(48000 / 128)
    audio = torch.randn(2, 1000)
    codes = codec.encode(audio)
    frames = math.ceil(1000 / 128)
    assert codes.shape == (2, 4, frames) and codes.dtype == torch.long
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    out = codec(audio)
    assert out.audio.shape == (2, frames * 128)
    assert out.latents.shape == out.quantized.shape == (2, 16, frames)
    assert codec.decode(codes).shape == (2, frames * 128)


def test_default_config_frame_rates() -> None:
    assert CodecConfig().frame_rate == pytest.approx(46.875)
    assert CodecConfig(downsample=1).frame_rate == pytest.approx(93.75)


def test_decode_of_codes_equals_forward(codec: Codec) -> None:
    audio = torch.randn(2, 3000) * 0.2
    with torch.no_grad():
        out = codec(audio)
        codes = codec.encode(audio)
        assert torch.equal(codes, out.codes)
        assert torch.allclose(codec.decode(codes), out.audio, atol=1e-6)
        assert torch.allclose(codec.codes_to_latents(codes), out.quantized)


def test_the_heads_frames_render_to_the_decoders_output(codec: Codec) -> None:
    latents = codec.encode_latents(torch.randn(1, 3000) * 0.2)
    with torch.no_grad():
        log_mag, phase = codec.decoder.head_frames(latents)
        assert log_mag.shape == phase.shape == (1, codec.decoder.head.bins, latents.shape[-1] * 2)
        rendered = codec.decoder.head.render(log_mag, phase)
        assert torch.allclose(rendered, codec.decode_latents(latents), atol=1e-6)
        turned = codec.decoder.head.render(log_mag, phase + 1.0)  # the phase is what it plays
        assert not torch.allclose(turned, rendered, atol=1e-3)


def test_every_prefix_of_levels_decodes(codec: Codec) -> None:
    audio = torch.randn(1, 4000) * 0.2
    codes = codec.encode(audio)
    outputs = []
    with torch.no_grad():
        for levels in range(1, 5):
            full = codec.decode(codes, levels=levels)
            prefix = codec.decode(codes[:, :levels])
            assert torch.allclose(full, prefix, atol=1e-6)
            assert torch.isfinite(full).all()
            assert torch.allclose(codec(audio, levels=levels).audio, full, atol=1e-6)
            outputs.append(full)
    # each level adds a code vector, so the decoder input (and output) changes
    assert not torch.allclose(outputs[0], outputs[-1])
    with pytest.raises(CodecError):
        codec.decode(codes, levels=5)


def test_residual_levels_shrink_the_error(codec: Codec) -> None:
    with torch.no_grad():
        latents = codec.encode_latents(torch.randn(2, 48000) * 0.1)
    codes = codec.latents_to_codes(latents)
    errors = [
        float((codec.codes_to_latents(codes, k) - latents).square().mean()) for k in range(1, 5)
    ]
    assert errors == sorted(errors, reverse=True)


def test_eval_mode_has_no_codebook_side_effects(codec: Codec) -> None:
    before = {k: v.clone() for k, v in codec.state_dict().items()}
    codec(torch.randn(1, 2000))
    codec.encode(torch.randn(1, 2000))
    for key, value in codec.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_training_forward_with_quantizer_dropout(codec: Codec) -> None:
    codec.train()
    codec.quantizer.configure_dead_codes(vectors_per_batch=2 * 16, fraction=0.1)
    torch.manual_seed(3)
    seen = set()
    for _ in range(12):
        out = codec(torch.randn(2, 2048) * 0.1, quantizer_dropout=True)
        assert out.audio.shape == (2, 2048)
        seen.add(out.levels)
        # dropped levels are marked -1 for the whole batch
        assert bool((out.codes[:, out.levels :] == -1).all())
        out.audio.square().mean().add(out.commit_loss).backward()
    assert len(seen) > 1
    stats = codec.quantizer.pop_stats()
    assert len(stats.perplexity) == 4 and stats.vectors > 0
    assert 0 < stats.used_fraction[0] <= 1


def test_fingerprint_is_stable_and_tracks_weights(codec: Codec) -> None:
    first = codec.fingerprint()
    assert len(first) == 16 and int(first, 16) >= 0
    assert codec.fingerprint() == first
    clone = Codec(codec.config)
    clone.load_state_dict(codec.state_dict())
    assert clone.fingerprint() == first
    # EMA bookkeeping does not change what the codec computes, so not its identity either
    clone.quantizer.rvq.layers[0]._codebook.cluster_size.add_(1.0)
    assert clone.fingerprint() == first
    with torch.no_grad():
        clone.decoder.head.proj.bias.add_(1e-3)
    assert clone.fingerprint() != first


def test_older_configs_keep_reflect_padding_and_their_fingerprint(codec: Codec) -> None:
    from dataclasses import asdict

    saved = asdict(codec.config)
    assert saved["edge_padding"] == "zeros"
    older = {k: v for k, v in saved.items() if k != "edge_padding"}  # a file from before the field
    assert CodecConfig.from_dict(older).edge_padding == "reflect"
    legacy = Codec(CodecConfig.from_dict(older))
    legacy.load_state_dict(codec.state_dict())
    # the hash of an older codec is what it was before the field existed: its settings alone
    explicit = Codec(CodecConfig.from_dict({**older, "edge_padding": "reflect"}))
    explicit.load_state_dict(codec.state_dict())
    assert legacy.fingerprint() == explicit.fingerprint() != codec.fingerprint()


def test_zero_edge_padding_sees_silence_before_a_sound(codec: Codec) -> None:
    # the encoder's STFT of a hit at sample 0 equals that of the same hit after silence (as
    # one-shots sit in training crops); reflect padding would mirror the attack before time 0
    stft = codec.encoder.stft
    hit = torch.zeros(1, 4096)
    hit[0, :200] = torch.hann_window(400)[200:]
    later = torch.nn.functional.pad(hit, (stft.hop_length, 0))
    first, shifted = stft(hit), stft(later)[..., 1:]
    assert torch.allclose(first, shifted[..., : first.shape[-1]], atol=1e-4)
    stft.edge_padding = "reflect"
    try:
        assert not torch.allclose(stft(hit)[..., 0], first[..., 0], atol=1e-2)
    finally:
        stft.edge_padding = "zeros"


def test_bad_settings_and_inputs_are_clear() -> None:
    with pytest.raises(CodecError, match="downsample"):
        CodecConfig(downsample=3)
    with pytest.raises(CodecError, match="codebook_size"):
        CodecConfig(codebook_size=0)
    with pytest.raises(CodecError, match="unknown"):
        CodecConfig.from_dict({"bogus": 1})
    # a retired setting in an older checkpoint is dropped, not refused
    assert CodecConfig.from_dict({"commitment_weight": 1.0, "num_levels": 4}).num_levels == 4
    model = Codec(CodecConfig(**TINY))
    with pytest.raises(CodecError, match="mono"):
        model.encode(torch.zeros(1, 2, 100))


def test_empty_and_tiny_inputs(codec: Codec) -> None:
    assert codec.encode(torch.zeros(1, 0)).shape == (1, 4, 0)
    assert codec.decode(torch.zeros(1, 4, 0, dtype=torch.long)).shape == (1, 0)
    assert codec.encode(torch.zeros(1, 1)).shape == (1, 4, 1)
