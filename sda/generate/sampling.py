"""Sampling one window of codes from the prior: temperature, top-k, top-p, guidance, seeded RNG.

The loop walks the delayed columns (see `sda.models.delay_pattern`); cells that are already known
(a prompt, or the pad cells of the pattern) are forced instead of sampled, so one routine serves fresh
generation, continuation and regeneration. With the KV cache each step feeds a single column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from sda.generate.sampling_head import sampling_head
from sda.generate.shared_prefill import feed_columns
from sda.models.delay_pattern import apply_delay, delay_mask, undo_delay
from sda.models.prior import Prior


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0
    top_k: int | None = None  # keep only the k most likely codes (None or 0: all)
    top_p: float | None = None  # keep the smallest set of codes whose probability reaches p
    guidance: float = 1.0  # classifier-free guidance: 0 = ignore controls, 1 = plain, >1 = stronger


def filter_logits(logits: Tensor, *, top_k: int | None, top_p: float | None) -> Tensor:
    """(rows, classes) -> same, with filtered-out classes at -inf; always keeps the best class."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        # drop a class when the classes before it already reach top_p
        drop_sorted = probs.cumsum(dim=-1) - probs >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def draw_classes(logits: Tensor, generator: torch.Generator | None) -> Tensor:
    """(rows, classes) logits, -inf where excluded -> (rows,) one class per row, drawn with its
    softmax probability.

    On a CPU by inverse CDF: one uniform per row against the running sum of the unnormalised
    probabilities. `torch.multinomial` took 6-8x as long there for a stereo prior's 16 levels
    of 1,024 codes (0.4-1.0 ms per column; experiments/RESULTS.md, "large codebooks"). Other
    devices keep `torch.multinomial` (fast there; `searchsorted` is missing on some MPS builds)."""
    if logits.device.type != "cpu":
        probabilities = logits.float().softmax(dim=-1)
        return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)
    logits = logits.float()
    weights = (logits - logits.amax(dim=-1, keepdim=True)).exp()
    totals = weights.cumsum(dim=-1)
    uniform = torch.rand(
        (logits.shape[0], 1), generator=generator, device=logits.device, dtype=totals.dtype
    )
    # 1 - u lies in (0, 1]: a point above 0 never lands on a leading class of probability 0
    points = (1.0 - uniform) * totals[:, -1:]
    return torch.searchsorted(totals, points).squeeze(-1).clamp(max=logits.shape[-1] - 1)


def sample_from_logits(
    logits: Tensor, settings: SamplingSettings, generator: torch.Generator | None
) -> Tensor:
    """(rows, classes) -> (rows,) sampled class indices."""
    if settings.temperature != 1.0:
        logits = logits / settings.temperature
    logits = filter_logits(logits, top_k=settings.top_k, top_p=settings.top_p)
    return draw_classes(logits, generator)


def forced_cells(
    prompt: Tensor | None,
    batch: int,
    frames: int,
    prior: Prior,
    device: torch.device,
    known: Tensor | None = None,
) -> Tensor:
    """(batch, levels, columns): the known token of each delayed cell, or -1 where it is to be
    sampled. `known` (batch or 1, levels, frames), -1 where free, forces cells anywhere (rests);
    the prompt's frames win over it."""
    levels, pad = prior.config.num_levels, prior.config.pad_token
    grid = torch.full((batch, levels, frames), -1, dtype=torch.long, device=device)
    if known is not None:
        grid[:] = known.to(device=device, dtype=torch.long)
    if prompt is not None:
        grid[:, :, : prompt.shape[2]] = prompt
    forced = apply_delay(grid, pad)
    forced[:, ~delay_mask(frames, levels, device=device)] = pad
    return forced


def per_column(controls: Tensor, columns: int) -> Tensor:
    """Per-frame controls (batch, frames, n) -> (batch, columns, n): the delay pattern's extra
    columns at the end keep the last frame's value, as in training; constant ones pass through."""
    if controls.dim() == 2:
        return controls
    index = torch.arange(columns, device=controls.device).clamp(max=controls.shape[1] - 1)
    return controls[:, index]


@contextmanager
def one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run on one CPU thread, then restore the setting.

    A sampling step is ~100 tiny ops on one column: a thread pool adds only synchronisation, and on
    a busy machine its spin-waiting made sampling 10-30x slower than one thread (measured).
    """
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def guided_condition(
    prior: Prior,
    controls: Tensor | None,
    control_mask: Tensor | None,
    settings: SamplingSettings,
    batch: int,
    columns: int,
    feedback: Callable[[Tensor], Tensor] | None = None,
) -> tuple[Tensor, float]:
    """(the conditioning of each row, the guidance scale): with guidance other than 0 or 1 the
    conditional and the unconditional model run as one doubled batch, conditional rows first.
    `feedback` (`Selection.condition`) corrects the controls asked for first."""
    device = prior.position_embedding.weight.device
    if feedback is not None and controls is not None:
        controls = feedback(controls)
    given = controls is not None and (control_mask is None or bool(control_mask.any()))
    scale = settings.guidance if given else 1.0
    if scale == 0.0:
        controls, control_mask = None, None
    if controls is not None:
        controls = per_column(controls.to(device), columns)
        control_mask = None if control_mask is None else control_mask.to(device)
    condition = prior.condition(controls, control_mask, batch, device)  # (batch, 1 or columns, dim)
    if scale not in (0.0, 1.0):
        unconditional = prior.condition(None, None, batch, device)
        condition = torch.cat([condition, unconditional.expand_as(condition)])
    return condition, scale


@dataclass(frozen=True)
class Selection:
    """Steering while sampling: every `every` columns, `choose(delayed grid so far)` gives the
    row (batch,) each row continues from, or None to leave them as they are. `condition`, if
    given, maps the controls asked for to those the prior is given: at the window's start and
    after every choice (feedback). The columns are counted from the first one drawn, or, with
    `last`, back from column `last`, after which the last choice falls (one that must fall where
    some frame is complete; none after it)."""

    every: int
    choose: Callable[[Tensor], Tensor | None]
    condition: Callable[[Tensor], Tensor] | None = None
    last: int | None = None

    def due(self, column: int, first: int) -> bool:
        """Whether to choose after `column` of a window whose first drawn column is `first`."""
        if self.last is None:
            return (column - first + 1) % self.every == 0
        return first <= column <= self.last and (self.last - column) % self.every == 0


def resample_rows(out: Tensor, cache: list | None, rows: Tensor | None, repeat: int) -> None:
    """Rows of the grid (and of the cache: the conditional rows, then the unconditional ones)
    replaced in place by the chosen rows."""
    if rows is None:
        return
    rows = rows.to(out.device)
    out[:] = out[rows]
    if cache is not None:
        batch = out.shape[0]
        every_row = torch.cat([rows + part * batch for part in range(repeat)])
        for layer in cache:
            layer.keys[:] = layer.keys[every_row]
            layer.values[:] = layer.values[every_row]


def draw_column(
    logits: Tensor,  # (rows, levels, codebook): the conditional rows, then any unconditional ones
    scale: float,
    settings: SamplingSettings,
    generator: torch.Generator | None,
) -> Tensor:  # -> (batch, levels)
    """One column's codes from its logits, guided by `scale` when the batch was doubled."""
    levels, codebook = logits.shape[1:]
    if scale not in (0.0, 1.0):
        conditional, unconditional = logits.chunk(2)
        logits = torch.lerp(unconditional, conditional, scale)  # u + scale * (c - u), one op
    tokens = sample_from_logits(logits.reshape(-1, codebook), settings, generator)
    return tokens.view(-1, levels)


@torch.inference_mode()
def sample_window(
    prior: Prior,
    *,
    frames: int,
    batch: int = 1,
    prompt: Tensor | None = None,  # (batch, levels, prompt_frames) long, continued by the window
    controls: Tensor | None = None,  # (batch, num_controls) in 0..1, or (batch, frames, ...)
    control_mask: Tensor | None = None,  # (batch, num_controls) bool
    known: Tensor | None = None,  # (batch or 1, levels, frames) long, -1 where free: forced cells
    settings: SamplingSettings = SamplingSettings(),
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    on_step: Callable[[int, int], None] | None = None,
    select: Selection | None = None,
    finish: bool = True,
) -> Tensor:  # -> (batch, levels, frames) long; the first prompt_frames equal the prompt
    """One window of codes. With `select` the rows are particles: every `select.every` drawn
    columns it sees the grid so far and may return which row each row becomes (the cache's rows
    follow), so a take can be steered as it is drawn; rows a choice may copy between must share
    the same controls (`sda.generate.particle_groups` steers groups with controls of their own).
    `finish=False` stops at the column that draws the last frame's first level: the upper
    levels of the last frames stay -1 (free), for a next window to draw with its own columns."""
    config = prior.config
    device = prior.position_embedding.weight.device
    if prompt is not None:
        batch = prompt.shape[0]
        prompt = prompt.to(device=device, dtype=torch.long)
        if prompt.shape[2] > frames:
            raise ValueError(f"a {prompt.shape[2]}-frame prompt does not fit in {frames} frames")
    if frames > config.context_frames:
        raise ValueError(f"{frames} frames exceed the prior's window of {config.context_frames}")
    forced = forced_cells(prompt, batch, frames, prior, device, known)
    columns = forced.shape[2] if finish else frames
    free = (forced < 0).any(dim=(0, 1)).nonzero()
    if len(free) == 0:
        return undo_delay(forced)
    first = int(free[0])

    feedback = None if select is None or controls is None else select.condition
    asked = (prior, controls, control_mask, settings, batch, columns, feedback)
    condition, scale = guided_condition(*asked)
    rows = condition.shape[0]
    repeat = rows // batch

    was_training = prior.training
    prior.eval()
    try:
        out = forced.clone()
        start = out.new_full((batch, config.num_levels, 1), config.start_token)
        cache = prior.new_cache(rows, like=condition) if use_cache else None
        modulation = prior.modulate(condition)  # once per window, sliced per step
        forward = partial(  # a prefill's columns but the last need only their cache
            prior.forward_columns, cache=cache, head=sampling_head(prior), last=1
        )
        feed = partial(feed_columns, prior, forward, repeat=repeat, cache=cache)  # rows alike: once
        fed = 0  # input positions the cache holds: the start column, then out's columns
        with one_cpu_thread(device):
            for column in range(first, columns):
                known = forced[:, :, column]
                if bool((known >= 0).all()):  # a rest: nothing to draw, fed with the next draw
                    out[:, :, column] = known
                else:
                    if use_cache and fed > 0:  # the columns since the last draw; cached the rest
                        inputs, offset = out[:, :, fed - 1 : column], fed
                    else:  # the whole prefix (with the cache: the prefill of the known columns)
                        inputs, offset = torch.cat([start, out[:, :, :column]], dim=2), 0
                    fed = column + 1
                    steps = modulation.steps(offset, inputs.shape[2])
                    logits = feed(inputs, steps, offset=offset)[:, :, -1]
                    tokens = draw_column(logits, scale, settings, generator)
                    out[:, :, column] = torch.where(known >= 0, known, tokens)
                if select is not None and select.due(column, first):
                    resample_rows(out, cache, select.choose(out[:, :, : column + 1]), repeat)
                    if feedback is not None:  # the setting corrected by what was measured
                        modulation = prior.modulate(guided_condition(*asked)[0])
                if on_step is not None:
                    on_step(column - first + 1, columns - first)
    finally:
        prior.train(was_training)
    return undo_delay(out)
