"""Joins drawn with a take's halves: each half runs on past its end into the other's start, and of
its candidates the row that leads best into the other half is kept.

A steered half is a group of candidate rows that share their music up to the group's last choice,
which falls where the half's own frames are complete (`loop_take`), and differ after it. Drawn
`extend` frames past its end, each row's last frames are a candidate for
the join into the next half: the prior scores how likely the next half's frames after the
extension are, following each row (`join_scores`), and the pair of rows (one per half) whose joins
score best together is kept. The frames around the joins then need no redraw afterwards
(`seamless_grid`, `regenerate_region`), whose prefill and columns took a steered 4 s loop about a
quarter of its time (experiments/RESULTS.md, Prior, 2026-12-07 late night).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sda.generate.circular_redraw import JOIN_FRAMES
from sda.generate.regenerate import join_scores

# Frames of a candidate's own music the prior reads before the frames it is scored on, in prior
# windows: half, as much as a redraw continues from. On 24 steered loops of a stereo prior, half a
# window chose as the whole window did 21 times, a quarter 16 times; 26 / 20 / 32 ms a loop.
JOIN_CONTEXT_WINDOWS = 0.5


@dataclass(frozen=True)
class Halves:
    """Two groups of candidate rows drawn side by side, each `own + extend` frames long: the first
    half's rows `own[0]` frames and their extension into the second half's start, the second's
    `own[1]` frames and theirs into the first's (a loop's end into its start)."""

    # (2 * rows, grid rows, frames drawn): the first half's rows, then the second's
    drawn: torch.Tensor
    rows: int
    own: tuple[int, int]
    extend: int

    def group(self, half: int) -> torch.Tensor:
        return self.drawn[half * self.rows : (half + 1) * self.rows]

    def grid(self, chosen: tuple[int, int], *, circular: bool) -> torch.Tensor:
        """(grid rows, frames): the chosen rows laid end to end, each extension in place of the
        start of the half it leads into (the first half's start only when `circular`)."""
        first, second = self.group(0)[chosen[0]], self.group(1)[chosen[1]]
        (one, two), extend = self.own, self.extend
        body = [first[:, extend : one + extend], second[:, extend:two]]
        start = second[:, two : two + extend] if circular else first[:, :extend]
        return torch.cat([start, *body], dim=1)


def join_pair(
    prior,
    halves: Halves,
    *,
    circular: bool,
    controls: torch.Tensor | None = None,  # (1, num_controls): the take's mean settings
    control_mask: torch.Tensor | None = None,
    second: int | None = None,  # the second half's row, chosen already (a take's end)
) -> tuple[int, int]:
    """The rows (first half's, second half's) whose extensions lead best into the other half:
    the sum of both joins' scores (circular: a loop's end leads into its start too), or the
    first join's alone with the second half's row given."""
    rows, (one, two), extend = halves.rows, halves.own, halves.extend
    after = min(JOIN_FRAMES, two - extend, one - extend)
    window = prior.config.context_frames
    context = min(round(JOIN_CONTEXT_WINDOWS * window), min(one, two) + extend, window - after)
    seconds = list(range(rows)) if second is None else [second]
    first_rows, second_rows = halves.group(0), halves.group(1)[seconds]
    joins = [_Join(first_rows, one + extend, second_rows, extend, after)]
    if circular:
        joins.append(_Join(second_rows, two + extend, first_rows, extend, after))
    device = prior.position_embedding.weight.device  # the rows come back from sampling on the CPU
    tails = torch.cat([join.tails(context) for join in joins]).to(device)
    follows = torch.cat([join.follows() for join in joins]).to(device)
    scores = join_scores(prior, tails[:, :, :0], tails, follows, controls, control_mask).cpu()
    total = joins[0].table(scores[: joins[0].count])  # (first half's rows, second's)
    if circular:
        total = total + joins[1].table(scores[joins[0].count :]).T
    best = int(total.argmax())
    return best // len(seconds), seconds[best % len(seconds)]


class _Join:
    """One join scored for every leading row and every distinct start it may lead into: the rows
    of a steered half mostly share their start, so it is scored once."""

    def __init__(self, leading, end: int, following, extend: int, after: int) -> None:
        self.leading, self.end = leading, end
        starts = following[:, :, extend : extend + after]
        self.starts, self.which = torch.unique(starts, dim=0, return_inverse=True)
        self.count = len(leading) * len(self.starts)

    def tails(self, context: int) -> torch.Tensor:
        """Each leading row's last `context` frames, once per distinct start."""
        tails = self.leading[:, :, self.end - context : self.end]
        return tails.repeat_interleave(len(self.starts), dim=0)

    def follows(self) -> torch.Tensor:
        return self.starts.repeat(len(self.leading), 1, 1)

    def table(self, scores: torch.Tensor) -> torch.Tensor:
        """(leading rows, following rows): each pair's score."""
        return scores.view(len(self.leading), len(self.starts))[:, self.which]
