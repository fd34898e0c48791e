"""The head-magnitude term of a codec whose phases come from its magnitudes: in the loss whether
the encoder learns or not, and absent for learned phases or weight 0."""

from __future__ import annotations

import random

import pytest
import torch
from factories import TINY_CODEC

from sda.models.codec import CodecConfig
from sda.training.codec_module import CodecModule, CodecTrainingConfig


def reconstruct(head_phase: str, frozen: bool, weight: float = 1.0):
    torch.manual_seed(0)
    module = CodecModule(
        CodecConfig(**TINY_CODEC, head_phase=head_phase),
        training=CodecTrainingConfig(head_magnitude_weight=weight),
    )
    audio = 0.1 * torch.randn(2, 4096)
    with torch.no_grad():
        module.codec.quantizer.warm_up(module.codec.encode_latents(audio))
    recon, _, _, head = module._reconstruct(audio, frozen, False, random.Random(0))
    return module, audio, recon, head


@pytest.mark.parametrize("frozen", [False, True])
def test_a_vocoder_head_is_held_to_the_original_spectrum_with_or_without_the_encoder(frozen):
    module, audio, recon, head = reconstruct("vocoder", frozen)
    assert head is not None and head.shape[1] == module.codec.decoder.head.bins
    loss, logs = module._reconstruction_loss(recon, audio, torch.zeros(()), head)
    assert float(logs["train/head_magnitude"]) > 0
    plain, _ = module._reconstruction_loss(recon, audio, torch.zeros(()))
    assert float(loss) > float(plain)


def test_learned_phases_or_a_zero_weight_add_nothing():
    assert reconstruct("learned", False)[3] is None
    assert reconstruct("vocoder", False, weight=0.0)[3] is None
