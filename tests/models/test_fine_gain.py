"""The decoder's fine gain envelope: neutral at start, local, capped, and able to lift a hit."""

from __future__ import annotations

import math

import factories
import pytest
import torch

from sda.models.codec import Codec, CodecConfig, CodecError
from sda.models.fine_gain import MAX_GAIN_DB, FineGain


def test_a_new_fine_gain_leaves_the_audio_as_it_is() -> None:
    gain = FineGain(dim=8, hop_length=32, steps=4)
    stream, audio = torch.randn(2, 10, 8), torch.randn(2, 320)
    assert torch.equal(gain(stream, audio), audio)


def test_a_raised_point_lifts_its_own_samples_most_and_no_more_than_the_cap() -> None:
    gain = FineGain(dim=1, hop_length=32, steps=4)
    stream = torch.zeros(1, 10, 1)
    stream[0, 5, 0] = 1.0  # frame 5 only
    with torch.no_grad():
        gain.proj.weight.zero_()
        gain.proj.weight[1, 0] = 100.0  # its second point (samples 168..175), far past the cap
    with torch.no_grad():
        lifted = gain(stream, torch.ones(1, 320))[0]
    assert int(lifted.argmax()) in range(168, 176)
    # the point sits between two samples, which get 15/16 of its (capped) log gain
    cap = 10 ** (MAX_GAIN_DB / 20)
    assert math.isclose(float(lifted.max()), cap ** (15 / 16), rel_tol=1e-3)
    assert torch.equal(lifted[:120], torch.ones(120))  # frames far away are untouched


def test_trained_alone_it_sharpens_a_smeared_hit() -> None:
    # the copy's hit comes back 8 dB low with its energy leaking 20 samples before the stroke
    torch.manual_seed(0)
    samples = torch.arange(640, dtype=torch.float32)
    noise = torch.randn(640)
    decay = torch.exp(-(samples - 320).clamp(min=0) / 80)
    target = noise * torch.where(samples >= 320, decay, 0.02)
    smeared = noise * torch.where(samples >= 300, 0.4 * decay, 0.02)
    stream = torch.nn.functional.one_hot(torch.arange(20), 20).float()[None]  # frame identity
    gain = FineGain(dim=20, hop_length=32, steps=8)
    optimizer = torch.optim.Adam(gain.parameters(), lr=0.05)

    def envelope_error() -> torch.Tensor:
        shaped = gain(stream, smeared[None])[0]
        peaks = shaped.abs().reshape(-1, 8).amax(1)
        wanted = target.abs().reshape(-1, 8).amax(1)
        return (peaks.clamp(min=1e-4).log10() - wanted.clamp(min=1e-4).log10()).abs().mean()

    before = float(envelope_error().detach())
    for _ in range(200):
        optimizer.zero_grad()
        envelope_error().backward()
        optimizer.step()
    after = float(envelope_error().detach())
    assert after < 0.25 * before, (before, after)


def test_a_codec_with_a_fine_gain_decodes_and_rejects_bad_settings() -> None:
    config = CodecConfig(**{**factories.TINY_CODEC, "fine_gain": 4})
    codec = Codec(config)
    audio = torch.randn(2, 4096) * 0.1
    decoded = codec.decode_latents(codec.encode_latents(audio))
    assert decoded.shape[-1] >= audio.shape[-1]
    decoded.square().sum().backward()
    assert float(codec.decoder.fine_gain.proj.weight.grad.abs().sum()) > 0
    assert Codec(CodecConfig(**factories.TINY_CODEC)).decoder.fine_gain is None
    assert (config.hop_length // config.head_upsample) % 3  # 3 points cannot split the hop
    with pytest.raises(CodecError, match="fine_gain"):
        CodecConfig(**{**factories.TINY_CODEC, "fine_gain": 3})
    with pytest.raises(CodecError, match="fine_gain"):
        CodecConfig(**{**factories.TINY_CODEC, "fine_gain": 64})
