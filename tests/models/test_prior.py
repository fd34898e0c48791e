"""The prior: delay pattern round trip, causality, KV-cache sampling equals uncached sampling."""

import pytest
import torch
from factories import wake_controls

from sda.generate.sampling import (
    SamplingSettings,
    Selection,
    filter_logits,
    resample_rows,
    sample_window,
)
from sda.models.delay_pattern import apply_delay, delay_mask, undo_delay
from sda.models.prior import LayerCache, Prior, PriorConfig

LEVELS, CODES = 4, 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids spin-waiting when the machine is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def prior() -> Prior:
    torch.manual_seed(0)
    config = PriorConfig(
        num_levels=LEVELS, codebook_size=CODES, dim=32, layers=2, heads=4, context_frames=24
    )
    return Prior(config).eval()


def test_delay_pattern_round_trip():
    codes = torch.randint(0, CODES, (3, LEVELS, 10))
    delayed = apply_delay(codes, pad=CODES)
    assert delayed.shape == (3, LEVELS, 10 + LEVELS - 1)
    assert torch.equal(undo_delay(delayed), codes)
    assert torch.equal(delayed[0] != CODES, delay_mask(10, LEVELS))
    assert delayed[0, 2, 2] == codes[0, 2, 0]  # level q starts q columns late
    logits = torch.randn(2, LEVELS, 10, 5)  # trailing axes ride along
    stacked = torch.stack([apply_delay(logits[..., i], 0) for i in range(5)], dim=-1)
    assert torch.equal(undo_delay(stacked), logits)


def test_changing_a_future_token_never_changes_earlier_logits(prior):
    codes = torch.randint(0, CODES, (2, LEVELS, 20))
    controls = torch.rand(2, 6)
    changed = codes.clone()
    changed[:, :, 9:] = torch.randint(0, CODES, (2, LEVELS, 11))
    before, after = prior(codes, controls), prior(changed, controls)
    assert not torch.allclose(before, prior(codes))  # controls do reach the logits
    assert before.shape == (2, LEVELS, 20, CODES)
    # cell (level q, frame t) is predicted at column t + q from columns < t + q only
    for level in range(LEVELS):
        upto = 10 - level  # frames whose column t + level <= 9 cannot see column 9 or later
        assert torch.equal(before[:, level, :upto], after[:, level, :upto])
        assert not torch.allclose(before[:, level, upto:], after[:, level, upto:])


def test_loss_ignores_padding_and_trains(prior):
    prior.train()
    codes = torch.randint(0, CODES, (4, LEVELS, 12))
    codes[:, :, 8:] = prior.config.pad_token  # a sound shorter than the window
    optimizer = torch.optim.AdamW(prior.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss, _ = prior.loss(codes, torch.rand(4, 6), label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_the_loss_scores_exactly_the_real_cells_of_the_grid(prior):
    """The loss is computed on the delayed grid; it must equal cross-entropy over the frame-order
    logits of the real (non-pad) cells, its gradient included, and give those logits back."""
    codes = torch.randint(0, CODES, (3, LEVELS, 10))
    codes[1, :, 6:] = prior.config.pad_token
    controls = torch.rand(3, 6)
    loss, logits = prior.loss(codes, controls, label_smoothing=0.1)
    loss.backward()
    fast = [p.grad.clone() for p in prior.parameters()]
    prior.zero_grad()
    frame_order = prior(codes, controls)
    real = codes != prior.config.pad_token
    expected = torch.nn.functional.cross_entropy(
        frame_order[real], codes[real], label_smoothing=0.1
    )
    expected.backward()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(logits, frame_order.detach())
    for grad, parameter in zip(fast, prior.parameters(), strict=True):
        torch.testing.assert_close(grad, parameter.grad)
    assert prior.loss(codes, controls, keep_logits=False)[1] is None


@pytest.mark.parametrize(
    ("guidance", "per_frame", "rests"),
    [(1.0, False, False), (3.0, False, False), (3.0, True, False), (3.0, False, True)],
)
def test_cached_sampling_equals_uncached(prior, guidance, per_frame, rests):
    """With rests (`known` frames), the fully forced columns are fed to the cache in one chunk
    before the next draw: that must give what feeding no cache at all gives."""
    prompt = torch.randint(0, CODES, (2, LEVELS, 5))
    settings = SamplingSettings(temperature=0.9, top_k=10, top_p=0.95, guidance=guidance)
    controls = torch.rand(2, 20, 6) if per_frame else torch.rand(2, 6)
    known = torch.full((1, LEVELS, 20), -1)
    known[:, :, 8:14] = 3  # a rest longer than the delay pattern: some columns fully forced
    known[:, :, 17:] = 5  # and one that runs to the end of the window
    results = [
        sample_window(
            prior,
            frames=20,
            prompt=prompt,
            controls=controls,
            known=known if rests else None,
            settings=settings,
            generator=torch.Generator().manual_seed(7),
            use_cache=use_cache,
        )
        for use_cache in (True, False)
    ]
    assert torch.equal(results[0], results[1])
    assert torch.equal(results[0][:, :, :5], prompt)
    assert results[0].shape == (2, LEVELS, 20) and int(results[0].max()) < CODES
    if rests:
        assert (results[0][:, :, 8:14] == 3).all() and (results[0][:, :, 17:] == 5).all()


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_rows_chosen_while_sampling_carry_their_cache(prior, guidance):
    """Steering (`Selection`): every few columns each row becomes a chosen row; the cached keys
    and values must follow the rows, so cached sampling still equals uncached sampling."""
    prompt = torch.randint(0, CODES, (1, LEVELS, 4)).expand(3, -1, -1)
    controls = torch.rand(1, 6).expand(3, -1)  # particles share their controls
    seen: list[int] = []

    def choose(delayed):  # the row whose latest column sums highest; a real choice, varying
        seen.append(delayed.shape[2])
        return delayed[:, :, -1].sum(dim=1).argmax().repeat(delayed.shape[0])

    results = [
        sample_window(
            prior,
            frames=18,
            prompt=prompt,
            controls=controls,
            settings=SamplingSettings(temperature=1.5, guidance=guidance),
            generator=torch.Generator().manual_seed(3),
            use_cache=use_cache,
            select=Selection(every=5, choose=choose),
        )
        for use_cache in (True, False)
    ]
    assert torch.equal(results[0], results[1])
    first = 4  # the first free column: the prompt's frames come before it
    assert seen[:3] == [first + 5, first + 10, first + 15]
    # after the last choice the rows draw apart, but everything before it is the chosen row's
    delayed = apply_delay(results[0], CODES)
    last = seen[-1]
    assert (delayed[:, :, :last] == delayed[:1, :, :last]).all()
    assert not (delayed == delayed[:1]).all()


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_feedback_changes_the_conditioning_from_the_next_column_on(prior, guidance):
    """`Selection.condition` (feedback) is applied at the window's start and after every
    choice: the columns drawn before the first change are as without it, the later ones not."""
    controls = torch.full((1, 6), 0.2)
    calls: list[int] = []

    def condition(asked):  # as asked until the first choice, then a very different setting
        calls.append(len(calls))
        return asked if len(calls) == 1 else 1.0 - asked

    def draw(select):
        return sample_window(
            prior, frames=16, controls=controls,
            settings=SamplingSettings(temperature=1.5, guidance=guidance),
            generator=torch.Generator().manual_seed(5), select=select,
        )  # fmt: skip

    plain = draw(Selection(every=6, choose=lambda delayed: None))
    fed = draw(Selection(every=6, choose=lambda delayed: None, condition=condition))
    assert len(calls) == 1 + (16 + LEVELS - 1) // 6  # the start, then every choice
    plain, fed = apply_delay(plain, CODES), apply_delay(fed, CODES)
    assert torch.equal(plain[:, :, :6], fed[:, :, :6])
    assert not torch.equal(plain[:, :, 6:], fed[:, :, 6:])


def test_chosen_rows_take_their_cache_in_both_halves_of_a_guided_batch():
    """A guided batch caches the conditional rows, then the unconditional ones: both move."""
    out = torch.arange(3)[:, None, None].expand(3, LEVELS, 6).clone()  # row r holds r
    cache = [LayerCache(6, 2, 10, 4, like=torch.zeros(1)) for _ in range(2)]
    for layer in cache:
        layer.append(*(torch.arange(6.0)[:, None, None, None].expand(6, 2, 7, 4),) * 2)
    resample_rows(out, cache, torch.tensor([2, 2, 0]), repeat=2)
    assert out[:, 0, 0].tolist() == [2, 2, 0]
    for layer in cache:  # conditional rows 0-2, unconditional 3-5 (row r's twin is r + 3)
        assert layer.keys[:, 0, 0, 0].tolist() == [2, 2, 0, 5, 5, 3]
        assert layer.values[:, 0, 0, 0].tolist() == [2, 2, 0, 5, 5, 3]
        assert layer.length == 7


def per_column_inputs(prior: Prior) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens, conditioning) of 12 columns whose controls change per column, for a prior whose
    controls are woken (a fresh prior ignores them: its modulation starts at zero)."""
    wake_controls(prior)
    tokens = torch.randint(0, CODES, (2, LEVELS, 12))
    return tokens, prior.condition(torch.rand(2, 12, 6), None, 2, torch.device("cpu"))


def test_a_window_modulated_once_scores_as_one_modulated_per_step(prior):
    """The sampler computes the controls' shifts and scales once per window and slices them per
    column; that must equal computing them from each column's own conditioning."""
    tokens, condition = per_column_inputs(prior)
    modulation = prior.modulate(condition)
    whole = prior.forward_columns(tokens, condition)
    cache = prior.new_cache(2, like=condition)
    for start, length in ((0, 5), (5, 1), (6, 6)):
        part = prior.forward_columns(
            tokens[:, :, start : start + length],
            modulation.steps(start, length),
            cache=cache,
            offset=start,
        )
        torch.testing.assert_close(part, whole[:, :, start : start + length])
    constant = prior.modulate(condition[:, :1])
    assert constant.steps(3, 4) is constant


def test_a_prefill_s_last_step_scores_as_in_the_whole_forward(prior):
    """`last=1` (what sampling asks of a prefill) gives the last step's logits of the full
    forward, also where the controls change per column."""
    tokens, condition = per_column_inputs(prior)
    whole = prior.forward_columns(tokens, condition)
    last = prior.forward_columns(tokens, condition, last=1)
    assert last.shape == (2, LEVELS, 1, CODES)
    torch.testing.assert_close(last, whole[:, :, -1:])
    torch.testing.assert_close(prior.forward_columns(tokens, condition, last=3), whole[:, :, -3:])


def test_the_last_frames_score_as_in_the_whole_forward(prior):
    """`forward(..., last_frames=n)` (what a loop's join is scored with) maps only the columns
    that hold the last n frames' cells and gives their logits as the full forward does."""
    codes = torch.randint(0, CODES, (3, LEVELS, 12), generator=torch.Generator().manual_seed(2))
    controls = torch.rand(3, prior.config.num_controls)
    whole = prior(codes, controls)
    for frames in (1, 5, 12):
        torch.testing.assert_close(
            prior(codes, controls, last_frames=frames), whole[:, :, -frames:]
        )


def test_filter_logits_keeps_the_best_class():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    assert torch.isinf(filter_logits(logits, top_k=2, top_p=None)[0, 2:]).all()
    kept = filter_logits(logits, top_k=None, top_p=0.01)
    assert torch.isfinite(kept[0, 0]) and torch.isinf(kept[0, 1:]).all()


def test_window_longer_than_the_context_is_refused(prior):
    with pytest.raises(ValueError, match="window"):
        sample_window(prior, frames=prior.config.context_frames + 1)


def test_per_frame_controls_generalise_window_controls(prior):
    codes = torch.randint(0, CODES, (2, LEVELS, 12))
    controls = torch.rand(2, 6)
    per_frame = controls[:, None].expand(-1, 12, -1)
    assert torch.allclose(prior(codes, controls), prior(codes, per_frame), atol=1e-6)
    later = per_frame.clone()
    later[:, 6:] = 1 - later[:, 6:]  # other targets from frame 6 on
    before, after = prior(codes, per_frame), prior(codes, later)
    for level in range(LEVELS):  # cell (q, t) sits in column t + q, conditioned on frame t + q
        assert torch.equal(
            before[:, level, : max(0, 6 - level)], after[:, level, : max(0, 6 - level)]
        )


def test_sampling_with_a_constant_curve_equals_a_constant_control(prior):
    controls = torch.rand(2, 6)
    settings = SamplingSettings(guidance=3.0)
    runs = [
        sample_window(
            prior,
            frames=16,
            batch=2,
            controls=given,
            settings=settings,
            generator=torch.Generator().manual_seed(3),
        )  # fmt: skip
        for given in (controls, controls[:, None].expand(-1, 16, -1))
    ]
    assert torch.equal(runs[0], runs[1])
