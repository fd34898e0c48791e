"""A window's prefill fed once when every row holds the same prompt and conditioning.

A loop's seam candidates (`sda.generate.regenerate`) are drawn as rows that continue one
history: the prefill of that history is the same arithmetic for each row. It runs for one row
per guidance part, and the cache and logits are copied to the others.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sda.models.prior import LayerCache, Modulation, Prior


def _rows_alike(inputs: Tensor, condition: Tensor, repeat: int) -> bool:
    """Whether the `batch` rows of `inputs` are one row, and so is each of the `repeat` parts
    of `condition` (rows, 1 or steps, dim)."""
    batch = inputs.shape[0]
    if batch == 1 or not bool((inputs == inputs[:1]).all()):
        return False
    parts = condition.reshape(repeat, batch, *condition.shape[1:])
    return bool((parts == parts[:, :1]).all())


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
    with a cache) of rows that are all alike runs for one row per part."""
    if offset or cache is None or not _rows_alike(inputs, modulation.condition, repeat):
        return forward(inputs.repeat(repeat, 1, 1), modulation, offset=offset)
    batch = inputs.shape[0]
    firsts = torch.arange(repeat, device=inputs.device) * batch
    small = prior.new_cache(repeat, like=cache[0].keys)
    logits = forward(inputs[:1].repeat(repeat, 1, 1), modulation.rows(firsts), cache=small)
    part = torch.arange(repeat * batch, device=inputs.device) // batch
    for layer, fed in zip(cache, small, strict=True):
        layer.keys[:, :, : fed.length] = fed.keys[part, :, : fed.length]
        layer.values[:, :, : fed.length] = fed.values[part, :, : fed.length]
        layer.length = fed.length
    return logits[part]
