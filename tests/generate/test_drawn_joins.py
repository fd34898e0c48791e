"""Joins drawn with a take's halves (`sda.generate.drawn_joins`): how the rows are laid end to end,
and that the pair kept is the one the prior scores best, on the tiny trained prior."""

import pytest
import torch

from sda.generate.drawn_joins import Halves, join_pair

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def numbered(rows: int, levels: int, frames: int) -> torch.Tensor:
    """(2 * rows, levels, frames): each cell says its group, row and frame (g * 1000 + r * 100 +
    frame), so a laid-out grid shows where each frame came from."""
    group_row = torch.arange(2 * rows)
    code = (group_row // rows) * 1000 + (group_row % rows) * 100
    return (code[:, None, None] + torch.arange(frames)).expand(-1, levels, -1).clone()


def test_each_extension_takes_the_place_of_the_start_it_leads_into():
    # halves of 7 and 6 frames (a 13-frame take), each drawn 2 frames on
    halves = Halves(numbered(3, 2, 9), rows=3, own=(7, 6), extend=2)
    loop = halves.grid((1, 2), circular=True)[0].tolist()
    # the second half's row 2 ran on past its 6 frames into the loop's start
    assert loop == [1206, 1207, *range(102, 109), *range(1202, 1206)]
    take = halves.grid((1, 2), circular=False)[0].tolist()
    assert take == [
        *range(100, 109),
        *range(1202, 1206),
    ]  # the take's start is the first half's own
    assert len(loop) == len(take) == 13


def scores_one_by_one(prior, halves, a: int, b: int, circular: bool, context: int, after: int):
    """The pair's score computed directly: log-likelihood of each join's following frames after
    the leading row's last `context` frames, summed."""
    (one, two), extend = halves.own, halves.extend
    first, second = halves.group(0)[a], halves.group(1)[b]
    joins = [(first[:, one + extend - context : one + extend], second[:, extend : extend + after])]
    if circular:
        joins.append(
            (second[:, two + extend - context : two + extend], first[:, extend : extend + after])
        )
    total = 0.0
    for lead, follow in joins:
        sequence = torch.cat([lead, follow], dim=1)[None]
        with torch.inference_mode():
            logits = prior.eval()(sequence, last_frames=after)
        log_probs = logits.float().log_softmax(dim=-1)[0]
        total += float(log_probs.gather(-1, follow[..., None])[..., 0].sum())
    return total


def test_the_pair_kept_is_the_one_the_prior_scores_best(tiny_prior_bundle):
    prior = tiny_prior_bundle.prior
    levels, codebook = prior.config.num_levels, prior.config.codebook_size
    generator = torch.Generator().manual_seed(3)
    drawn = torch.randint(0, codebook, (6, levels, 40), generator=generator)
    drawn[4, :, :12] = drawn[3, :, :12]  # two of the second half's rows share their start
    halves = Halves(drawn, rows=3, own=(36, 35), extend=4)
    after = min(16, 35 - 4)
    context = min(prior.config.context_frames // 2, 35 + 4)
    for circular in (True, False):
        expected = {
            (a, b): scores_one_by_one(prior, halves, a, b, circular, context, after)
            for a in range(3)
            for b in range(3)
        }
        best = max(expected, key=expected.get)
        assert join_pair(prior, halves, circular=circular) == best
        given = max(range(3), key=lambda a: expected[(a, 2)])
        assert join_pair(prior, halves, circular=circular, second=2) == (given, 2)
