"""The sampling head: bfloat16 only for a large head on a CPU that has it, and the same
probabilities as the float32 head to within what sampling can tell."""

import pytest
import torch

from sda.generate import sampling_head as head_module
from sda.generate.sampling import sample_window
from sda.generate.sampling_head import BF16_MIN_OUTPUTS, native_bf16, sampling_head
from sda.models.prior import Prior, PriorConfig


def _prior(levels: int, codes: int) -> Prior:
    torch.manual_seed(0)
    config = PriorConfig(num_levels=levels, codebook_size=codes, dim=64, layers=1, heads=2)
    prior = Prior(config).eval()
    with torch.no_grad():  # logits spread like a trained prior's (several nats), not ~0
        prior.head.weight.mul_(30)
    return prior


def test_a_small_head_stays_float32():
    prior = _prior(8, 64)
    assert prior.head.out_features < BF16_MIN_OUTPUTS
    assert sampling_head(prior) is prior.head


def test_without_native_bfloat16_the_head_stays_float32(monkeypatch):
    monkeypatch.setattr(head_module, "native_bf16", lambda: False)
    prior = _prior(16, 256)
    assert sampling_head(prior) is prior.head


@pytest.mark.skipif(not native_bf16(), reason="this CPU has no native bfloat16")
def test_a_large_head_in_bfloat16_gives_the_same_probabilities():
    prior = _prior(16, 256)
    head = sampling_head(prior)
    assert head is not prior.head
    x = torch.randn(32, 64)
    with torch.inference_mode():
        exact = prior.head(x).view(32, 16, 256).log_softmax(-1)
        fast = head(x).view(32, 16, 256).log_softmax(-1)
    assert fast.dtype == torch.float32
    assert exact.std() > 2.0  # the test means something only for spread-out logits
    divergence = (exact.exp() * (exact - fast)).sum(-1)  # KL per row, nats
    assert divergence.mean() < 1e-3 and divergence.max() < 5e-3
    assert (exact.argmax(-1) == fast.argmax(-1)).float().mean() > 0.95


def test_sampling_with_a_large_head_makes_a_valid_window():
    prior = _prior(16, 256)
    codes = sample_window(prior, frames=20, generator=torch.Generator().manual_seed(0))
    assert codes.shape == (1, 16, 20)
    assert int(codes.min()) >= 0 and int(codes.max()) < 256
