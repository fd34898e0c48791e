"""The pull towards a fine-tune's starting weights: how far, what it keeps, and across a resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sda.training.weight_anchor import ANCHOR_KEY, WeightAnchor


def _moved(model: nn.Module, by: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(by)


def test_a_pull_moves_each_weight_its_share_of_the_way_back() -> None:
    model = nn.Linear(3, 2)
    anchor = WeightAnchor(model, strength=10.0)
    anchor.take()
    start = [p.detach().clone() for p in model.parameters()]
    _moved(model, 1.0)
    anchor.pull(learning_rate=0.01)  # 10 x 0.01: a tenth of the way back
    for p, s in zip(model.parameters(), start, strict=True):
        torch.testing.assert_close(p.detach(), s + 0.9)


def test_a_change_the_gradients_keep_asking_for_stays_and_noise_decays() -> None:
    torch.manual_seed(0)
    model = nn.Linear(1, 64, bias=False)
    anchor = WeightAnchor(model, strength=5.0)
    anchor.take()
    start = model.weight.detach().clone()
    steady, noise = torch.zeros(64), torch.zeros(64)
    steady[:32] = 1.0  # half the weights are pushed one way every step
    for _ in range(2000):
        noise.normal_()
        with torch.no_grad():
            model.weight[:, 0] += 1e-3 * torch.where(steady > 0, steady, noise)
        anchor.pull(learning_rate=1e-3)
    drift = (model.weight.detach() - start)[:, 0]
    # pushed weights settle near 1 / strength; pure noise stays near sqrt(lr / (2 strength))
    assert drift[:32].mean() == pytest.approx(0.2, rel=0.05)
    assert drift[32:].abs().mean() < 0.02


def test_a_resumed_run_keeps_its_first_start() -> None:
    model = nn.Linear(2, 2)
    first = WeightAnchor(model, strength=1.0)
    first.take()
    start = [p.detach().clone() for p in model.parameters()]
    checkpoint: dict = {}
    first.store(checkpoint)
    assert ANCHOR_KEY in checkpoint
    _moved(model, 3.0)  # trained on, then resumed
    resumed = WeightAnchor(model, strength=1.0)
    resumed.restore(checkpoint)
    resumed.take()  # on_fit_start after the load: keeps the stored start
    for kept, s in zip(resumed.start, start, strict=True):
        torch.testing.assert_close(kept, s)
    assert ANCHOR_KEY not in checkpoint  # not loaded as a weight


def test_the_strength_is_checked() -> None:
    with pytest.raises(ValueError, match="strength"):
        WeightAnchor(nn.Linear(1, 1), strength=0.0)
