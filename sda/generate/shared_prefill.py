"""A window's prefill fed once for each group of rows that hold the same prompt and conditioning.

A loop's seam candidates (`sda.generate.circular_redraw`) are drawn as rows that continue one
history per join: the prefill of that history is the same arithmetic for each of its rows. It
runs for one row per join and guidance part, and the cache and logits are copied to the others.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sda.models.prior import LayerCache, Modulation, Prior


def _groups(inputs: Tensor, condition: Tensor, repeat: int) -> tuple[Tensor, Tensor] | None:
    """(firsts, group): the first row of each group of alike rows (the same `inputs`, and the same
    condition in each of the `repeat` parts of `condition` (rows, 1 or steps, dim)) and each
    row's group; None when no two rows are alike."""
    batch = inputs.shape[0]
    if batch == 1:
        return None
    parts = condition.detach().reshape(repeat, batch, -1).transpose(0, 1).reshape(batch, -1)
    parts = parts.double()
    codes = inputs.reshape(batch, -1)
    # the codes exactly, the condition to a rounding: on two threads a batch's identical control
    # rows come out of the embedding up to ~2e-7 apart (rows split across threads), which an
    # exact comparison took for different rows, so no prefill was shared (found 2026-12-08)
    tolerance = 1e-5 * max(1.0, float(parts.abs().max())) if parts.numel() else 0.0
    alike = (codes[:, None] == codes[None]).all(-1)
    alike &= (parts[:, None] - parts[None]).abs().amax(-1) <= tolerance
    first_alike = alike.int().argmax(dim=1)  # each row's first alike row (itself at the latest)
    firsts, group = torch.unique(first_alike, return_inverse=True)
    if firsts.numel() == batch:
        return None
    return firsts, group


def feed_columns(
    prior: Prior,
    forward: Callable[..., Tensor],  # prior.forward_columns with its cache and head bound
    inputs: Tensor,  # (batch, levels, steps): the columns to feed, the same for every part
    modulation: Modulation,  # for the rows: the batch `repeat` times (guidance parts)
    *,
    offset: int,
    repeat: int,
    cache: list[LayerCache] | None,
) -> Tensor:  # -> what `forward` gives for the rows
    """`forward(inputs repeated for each part, modulation, offset=offset)`; a prefill (offset 0,
    with a cache) runs once for each group of alike rows per part."""
    groups = None if offset or cache is None else _groups(inputs, modulation.condition, repeat)
    if groups is None:
        return forward(inputs.repeat(repeat, 1, 1), modulation, offset=offset)
    firsts, group = groups
    batch, count = inputs.shape[0], len(firsts)
    parts = torch.arange(repeat, device=inputs.device)
    run = (parts[:, None] * batch + firsts).reshape(-1)  # the rows fed, part by part
    small = prior.new_cache(repeat * count, like=cache[0].keys)
    logits = forward(inputs[firsts].repeat(repeat, 1, 1), modulation.rows(run), cache=small)
    source = (parts[:, None] * count + group).reshape(-1)  # each row's fed row
    for layer, fed in zip(cache, small, strict=True):
        layer.keys[:, :, : fed.length] = fed.keys[source, :, : fed.length]
        layer.values[:, :, : fed.length] = fed.values[source, :, : fed.length]
        layer.length = fed.length
    return logits[source]
