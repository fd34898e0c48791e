"""Redraw several regions of a grid that repeats (a loop's), all in one batch.

Each region is redrawn as `regenerate_region` redraws one: the prior continues the codes before
it, and of a few candidates the one after which the codes after it are most likely is kept. Here
the grid wraps around (what precedes frame 0 is the grid's end), and every region's candidates are
rows of one batch: a loop whose music jumps in two places redraws both joins in the columns one
would take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sda.dna.codes import Codes
from sda.generate.curves import ControlValue
from sda.generate.engine import (
    check_full_grid,
    check_models,
    continue_codes,
    control_tensors,
    sampling_settings,
)
from sda.generate.loudness_range import conditioning_controls
from sda.generate.regenerate import join_scores, region_rests
from sda.generate.settings import GenerationError, GenerationSettings
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import grid_codes, prior_rows

JOIN_FRAMES = 16  # frames after a region that score how well each candidate leads into them


def circular_slices(grid: torch.Tensor, starts: Sequence[int], length: int) -> torch.Tensor:
    """(regions, levels, length): `length` frames of the repeating `grid` (levels, frames) from
    each of `starts` (any integers)."""
    frames = grid.shape[1]
    index = (torch.as_tensor(list(starts))[:, None] + torch.arange(length)) % frames
    return grid[:, index.to(grid.device)].permute(1, 0, 2)


def _gaps(regions: Sequence[tuple[int, int]], frames: int) -> list[int]:
    """The kept frames after each region (in order), up to the next one around the loop."""
    ordered = sorted(regions)
    following = [*ordered[1:], ordered[0]]
    return [(after[0] - end) % frames for (_, end), after in zip(ordered, following, strict=True)]


def check_regions(regions: Sequence[tuple[int, int]], frames: int) -> None:
    """Regions of a repeating grid of `frames`: each 1+ frames inside 0..frames, with kept frames
    between every two (a region's candidates are judged by the kept frames after it)."""
    ordered = sorted(regions)
    inside = bool(ordered) and all(0 <= start < end <= frames for start, end in ordered)
    covered = sum(end - start for start, end in ordered)
    apart = (
        inside
        and covered < frames
        and all(after[0] > before[1] for before, after in zip(ordered, ordered[1:], strict=False))
    )
    if not apart or (len(ordered) > 1 and ordered[0][0] + frames <= ordered[-1][1]):
        raise GenerationError(
            f"regions must lie inside the grid's frames 0..{frames} with kept frames between "
            f"them, around the loop too: {list(regions)}"
        )


@torch.inference_mode()
def redraw_circular(
    models: Any,
    codes: Codes,
    regions: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    candidates: int = 4,
    controls: Mapping[str, ControlValue] | None = None,
    **sampling: Any,
) -> Codes:
    """`codes`, a grid that repeats, with every region (start, end) redrawn given the frames on
    both sides (around the loop); all regions the same length. `sampling`: temperature, top_k,
    top_p, guidance. Each region is continued from up to half the prior's window of the kept
    frames before it, and of `candidates` the one that leads best into the kept frames after it
    is kept; a density setting lays out rests in it as in a new take."""
    settings = GenerationSettings(
        seconds=None, seed=seed, candidates=candidates, controls=controls or {}, **sampling
    )
    _, prior, _ = check_models(models)
    check_full_grid(models, codes, what="these codes")
    frames = codes.frames
    check_regions(regions, frames)
    spans = {end - start for start, end in regions}
    if len(spans) != 1:
        raise GenerationError(f"regions redrawn together must be equally long: {regions}")
    span, window = spans.pop(), prior.config.context_frames
    device = prior.position_embedding.weight.device
    grid = torch.tensor(prior_rows(models, codes), dtype=torch.long, device=device)
    kept = min(_gaps(regions, frames))  # no region's history or join reaches into another
    history_frames = min(window // 2, kept, window - span)
    after_frames = min(JOIN_FRAMES, window // 4, kept)
    count = settings.candidates
    starts = [start for start, _ in regions]
    # (regions * count, levels, frames): each region's candidates are consecutive rows
    history = circular_slices(grid, [s - history_frames for s in starts], history_frames)
    history = history.repeat_interleave(count, dim=0)
    rows = history.shape[0]
    values, mask = control_tensors(conditioning_controls(settings.controls, bundle_stats(models)))
    if values is not None:
        values, mask = values.to(device), mask.to(device)
    rests = region_rests(models, settings, span)
    proposals = continue_codes(
        prior, history, span, settings=sampling_settings(settings),
        generator=torch.Generator(device=device).manual_seed(settings.seed),
        controls=None if values is None else values.expand(rows, -1),
        control_mask=None if mask is None else mask.expand(rows, -1), batch=rows,
        known=None if rests is None else torch.from_numpy(rests)[None].to(device),
    )  # fmt: skip  # (rows, levels, span)
    best = torch.zeros(len(regions), dtype=torch.long)
    if count > 1:
        after = circular_slices(grid, [s + span for s in starts], after_frames)
        after = after.repeat_interleave(count, dim=0)
        scores = join_scores(prior, history, proposals, after, values, mask)
        best = scores.view(len(regions), count).argmax(dim=1).cpu()
    new = grid.clone()
    recipe = {key: value for key, value in settings.to_dict().items() if key != "seconds"}
    steps = []
    for number, (start, end) in enumerate(regions):
        new[:, start:end] = proposals[number * count + int(best[number])]
        steps.append({"op": "regenerate", "start": start, "end": end, **recipe})
    operations = [*codes.provenance.get("operations", []), *steps]
    return grid_codes(models, codes, new.cpu().numpy(), operations=operations)


def circular_regions(joins: Sequence[int], frames: int, span: int) -> tuple[int, list[int]]:
    """(shift, starts): rolling a grid left by `shift` frames puts every join (a frame where the
    music jumps: 0 is where the grid's end meets its start) at least half a `span` inside it,
    and `starts` are the regions of `span` frames centred on the joins in the rolled grid."""
    ordered = sorted({int(j) % frames for j in joins})
    gaps = np.diff([*ordered, ordered[0] + frames])
    widest = int(np.argmax(gaps))
    shift = (ordered[widest] + int(gaps[widest]) // 2) % frames  # the middle of the widest gap
    starts = sorted((j - shift) % frames - span // 2 for j in ordered)
    return shift, starts
