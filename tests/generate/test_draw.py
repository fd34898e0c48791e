"""The sampler's draw: one class per row with its softmax probability, never an excluded one."""

import torch

from sda.generate.sampling import draw_classes


def test_draws_follow_the_softmax_probabilities():
    probabilities = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probabilities.log().expand(40_000, -1)
    drawn = draw_classes(logits, torch.Generator().manual_seed(0))
    frequencies = torch.bincount(drawn, minlength=4).float() / len(drawn)
    assert torch.allclose(frequencies, probabilities, atol=0.01)


def test_excluded_classes_are_never_drawn():
    logits = torch.full((20_000, 1024), float("-inf"))
    logits[:, 0] = float("-inf")  # a leading excluded class, the inverse CDF's edge
    logits[:, 511] = 2.0
    logits[:, 1023] = 0.0  # the last class, the other edge
    drawn = draw_classes(logits, torch.Generator().manual_seed(1))
    assert set(drawn.tolist()) == {511, 1023}
    share = (drawn == 511).float().mean().item()
    assert abs(share - torch.tensor([2.0, 0.0]).softmax(0)[0].item()) < 0.015


def test_one_kept_class_is_always_drawn():
    logits = torch.full((100, 64), float("-inf"))
    logits[torch.arange(100), torch.arange(100) % 64] = 0.0
    drawn = draw_classes(logits, torch.Generator().manual_seed(2))
    assert torch.equal(drawn, torch.arange(100) % 64)


def test_a_seed_gives_the_same_draws():
    logits = torch.randn(16, 1024, generator=torch.Generator().manual_seed(3)) * 4
    first = draw_classes(logits, torch.Generator().manual_seed(4))
    again = draw_classes(logits, torch.Generator().manual_seed(4))
    other = draw_classes(logits, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
