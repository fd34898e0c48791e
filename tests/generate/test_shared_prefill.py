"""A prefill runs once per group of alike rows and leaves what a full prefill leaves."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from factories import wake_controls

from sda.generate.sampling import SamplingSettings, guided_condition, sample_window
from sda.generate.shared_prefill import feed_columns
from sda.models.prior import Prior, PriorConfig

LEVELS, CODES = 3, 16


@pytest.fixture
def prior() -> Prior:
    torch.manual_seed(0)
    config = PriorConfig(
        num_levels=LEVELS, codebook_size=CODES, dim=32, layers=2, heads=4, context_frames=20
    )
    prior = Prior(config).eval()
    wake_controls(prior)
    return prior


def _fed(prior: Prior, inputs: torch.Tensor, condition: torch.Tensor, repeat: int, shared: bool):
    """(logits, cache, rows each call of the prior ran)."""
    cache = prior.new_cache(condition.shape[0], like=condition)
    rows_run = []

    def counted(tokens, *args, **kwargs):
        rows_run.append(tokens.shape[0])
        return prior.forward_columns(tokens, *args, **kwargs)

    forward = partial(counted, cache=cache, last=1)
    modulation = prior.modulate(condition)
    if shared:
        logits = feed_columns(
            prior, forward, inputs, modulation, offset=0, repeat=repeat, cache=cache
        )
    else:
        logits = forward(inputs.repeat(repeat, 1, 1), modulation, offset=0)
    return logits, cache, rows_run


@pytest.mark.parametrize("guidance", [1.0, 2.0])
def test_alike_rows_get_the_logits_and_cache_of_a_full_prefill(prior, guidance) -> None:
    inputs = torch.randint(0, CODES, (1, LEVELS, 9)).expand(4, -1, -1)
    controls = torch.rand(1, prior.config.num_controls).expand(4, -1)
    settings = SamplingSettings(guidance=guidance)
    condition, _ = guided_condition(prior, controls, None, settings, 4, 9)
    repeat = condition.shape[0] // 4
    shared, shared_cache, rows_run = _fed(prior, inputs, condition, repeat, shared=True)
    full, full_cache, _ = _fed(prior, inputs, condition, repeat, shared=False)
    assert rows_run == [repeat]  # one row per guidance part, not four
    torch.testing.assert_close(shared, full)
    for one, other in zip(shared_cache, full_cache, strict=True):
        assert one.length == other.length == 9
        torch.testing.assert_close(one.keys, other.keys)
        torch.testing.assert_close(one.values, other.values)


def test_groups_of_alike_rows_run_once_each(prior) -> None:
    """Two prompts, three rows each (a loop's two joins and their candidates), guided: four rows
    run, and every row gets what a full prefill gives it."""
    inputs = torch.randint(0, CODES, (2, LEVELS, 9)).repeat_interleave(3, dim=0)
    controls = torch.rand(1, prior.config.num_controls).expand(6, -1)
    condition, _ = guided_condition(prior, controls, None, SamplingSettings(guidance=2.0), 6, 9)
    shared, shared_cache, rows_run = _fed(prior, inputs, condition, 2, shared=True)
    full, full_cache, _ = _fed(prior, inputs, condition, 2, shared=False)
    assert rows_run == [4]
    torch.testing.assert_close(shared, full)
    for one, other in zip(shared_cache, full_cache, strict=True):
        torch.testing.assert_close(one.keys, other.keys)
        torch.testing.assert_close(one.values, other.values)


def test_rows_that_differ_are_fed_in_their_own_groups(prior) -> None:
    inputs = torch.randint(0, CODES, (1, LEVELS, 9)).repeat(3, 1, 1)
    inputs[2, 1, 4] = (inputs[2, 1, 4] + 1) % CODES  # one cell of one row differs
    condition = prior.condition(None, None, 3, torch.device("cpu"))
    shared, shared_cache, rows_run = _fed(prior, inputs, condition, 1, shared=True)
    full, full_cache, _ = _fed(prior, inputs, condition, 1, shared=False)
    assert rows_run == [2]  # rows 0 and 1 are one group, row 2 another
    torch.testing.assert_close(shared, full)
    for one, other in zip(shared_cache, full_cache, strict=True):
        torch.testing.assert_close(one.keys, other.keys)
    assert not torch.allclose(shared[0], shared[2])
    controls = torch.rand(3, prior.config.num_controls)  # alike prompts, other controls
    alike = inputs[:1].expand(3, -1, -1)
    condition = prior.condition(controls, None, 3, torch.device("cpu"))
    shared, _, rows_run = _fed(prior, alike, condition, 1, shared=True)
    assert rows_run == [3]
    assert not torch.allclose(shared[0], shared[1])


def test_candidates_continuing_one_prompt_draw_as_without_the_cache(prior) -> None:
    """The sampler's own check: a window continuing one prompt in four rows draws the same
    codes with the cache (whose prefill is shared) as without it."""
    prompt = torch.randint(0, CODES, (1, LEVELS, 8)).expand(4, -1, -1)
    draws = [
        sample_window(
            prior,
            frames=14,
            prompt=prompt,
            use_cache=cached,
            generator=torch.Generator().manual_seed(3),
        )  # fmt: skip
        for cached in (True, False)
    ]
    assert torch.equal(draws[0], draws[1])
    assert torch.equal(draws[0][:, :, :8], prompt)
    assert not torch.equal(draws[0][0], draws[0][1])  # the rows draw their own continuations


@pytest.mark.parametrize("threads", [1, 2])
def test_alike_rows_are_found_on_any_thread_count(prior, threads) -> None:
    """On two threads identical control rows leave the embedding a rounding apart: still alike."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        inputs = torch.randint(0, CODES, (2, LEVELS, 9)).repeat_interleave(3, dim=0)
        controls = torch.rand(1, prior.config.num_controls).expand(6, -1)
        settings = SamplingSettings(guidance=2.0)
        condition, _ = guided_condition(prior, controls, None, settings, 6, 9)
        shared, _, rows_run = _fed(prior, inputs, condition, 2, shared=True)
        full, _, _ = _fed(prior, inputs, condition, 2, shared=False)
    finally:
        torch.set_num_threads(before)
    assert rows_run == [4]
    torch.testing.assert_close(shared, full)
