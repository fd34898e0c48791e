"""AdamW fused where the device has the kernel, with the for-each kernel's arithmetic."""

from __future__ import annotations

import torch
from torch import nn

from sda.training.adamw import adamw


def _trained(fused_allowed: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 1))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}]
    optimizer = (
        adamw(groups, lr=1e-2, betas=(0.8, 0.99))
        if fused_allowed
        else torch.optim.AdamW(groups, lr=1e-2, betas=(0.8, 0.99), foreach=True)
    )
    assert optimizer.defaults["fused"] is (True if fused_allowed else None)
    inputs = torch.randn(32, 8, generator=torch.Generator().manual_seed(1))
    for _ in range(20):
        optimizer.zero_grad()
        model(inputs).square().mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def test_cpu_weights_get_the_fused_kernel_and_the_same_steps() -> None:
    for fused, plain in zip(_trained(True), _trained(False), strict=True):
        torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-6)


def test_weights_on_a_device_without_the_kernel_get_the_default() -> None:
    weights = [nn.Parameter(torch.zeros(4, device="meta"))]
    assert adamw(weights, lr=1e-3).defaults["fused"] is None
