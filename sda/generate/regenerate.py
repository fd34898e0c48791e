"""Regenerate a frame range of a grid given the codes on both sides.

The prior continues the codes left of the region; of several candidates it keeps the one after which
the codes right of the region are most likely (the best join), so the new material leads back into
what follows instead of jumping. A stereo model redraws the region in its mid and side grids
together (the stack its prior reads, `sda.generate.stereo_takes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from sda.generate.rests import known_grid
from sda.generate.settings import GenerationError, GenerationSettings
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import grid_codes, prior_rows
from sda.generate.tone import asked_setting


@torch.inference_mode()
def join_scores(
    prior,
    before: torch.Tensor,  # (levels, frames) codes left of the region, or one per candidate
    candidates: torch.Tensor,  # (count, levels, region) proposals for the region
    after: torch.Tensor,  # (levels, frames) codes right of the region to score, or per candidate
    controls: torch.Tensor | None = None,
    control_mask: torch.Tensor | None = None,
) -> torch.Tensor:  # -> (count,) log-likelihood of `after` following each candidate
    count = candidates.shape[0]
    sequence = torch.cat(
        [before.expand(count, -1, -1), candidates, after.expand(count, -1, -1)], dim=2
    )[:, :, -prior.config.context_frames :]
    if controls is not None:
        controls, control_mask = controls.expand(count, -1), control_mask.expand(count, -1)
    was_training = prior.training
    prior.eval()
    try:
        logits = prior(sequence, controls, control_mask, last_frames=after.shape[-1])
    finally:
        prior.train(was_training)
    log_probs = logits.float().log_softmax(dim=-1)  # (count, levels, after, codebook)
    target = after.expand(count, -1, -1)[..., None]
    return log_probs.gather(-1, target)[..., 0].sum(dim=(1, 2))


def regenerate_region(
    models: Any,
    codes: Codes,
    start: int,
    end: int,
    *,
    seed: int = 0,
    candidates: int = 4,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    guidance: float = 1.0,
    controls: Mapping[str, ControlValue] | None = None,
    join_frames: int = 16,
) -> Codes:
    """`codes` with frames start:end redrawn by the prior; everything else is kept as it was.

    Of `candidates` proposals the one that joins best to what follows is kept. The region is
    short, so a control curve counts as its mean value here; a density setting lays out rests
    in it as in a new take (`sda.generate.rests`). The returned codes record the step
    (region, seed, sampling settings) in their provenance; `sda.dna.codec_bridge.decode_take`
    decodes them."""
    settings = GenerationSettings(
        seconds=None, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
        guidance=guidance, candidates=candidates, controls=controls or {},
    )  # fmt: skip
    prior, start, end = _check_region(models, codes, start, end)
    # a loudness level is placed among the training windows, as the prior learned it
    values, mask = control_tensors(conditioning_controls(settings.controls, bundle_stats(models)))
    device = prior.position_embedding.weight.device
    rows = prior_rows(models, codes)  # (levels, frames), or mid + side levels for stereo
    grid = torch.tensor(rows, dtype=torch.long, device=device)
    window = prior.config.context_frames
    after = grid[:, end : end + max(0, min(join_frames, window // 4))]  # (levels, frames)
    count = settings.candidates if after.shape[1] else 1  # nothing to join to: one draw
    history = grid[None, :, max(0, start - window // 2) : start]
    history = history.expand(count, -1, -1) if history.shape[2] else None
    if values is not None:
        values, mask = values.to(device), mask.to(device)
    rests = region_rests(models, settings, end - start)
    proposals = continue_codes(
        prior, history, end - start, settings=sampling_settings(settings),
        generator=torch.Generator(device=device).manual_seed(settings.seed),
        controls=None if values is None else values.expand(count, -1),
        control_mask=None if mask is None else mask.expand(count, -1), batch=count,
        known=None if rests is None else torch.from_numpy(rests)[None].to(device),
    )  # fmt: skip  # (count, levels, region)
    best = 0
    if count > 1:
        scores = join_scores(prior, grid[:, :start], proposals, after, values, mask)
        best = int(scores.argmax())
    new = grid.clone()
    new[:, start:end] = proposals[best]
    step = {"op": "regenerate", "start": start, "end": end, **settings.to_dict()}
    del step["seconds"]
    return grid_codes(
        models, codes, new.cpu().numpy(), operations=[*codes.provenance.get("operations", []), step]
    )


def region_rests(models: Any, settings: GenerationSettings, frames: int):
    """The region's rests as a new take at its density would lay them out (a sparse loop's seam
    stays sparse), a curve counting as its mean; None without density."""
    density = asked_setting(settings.controls, "density")
    if density is None:
        return None
    return known_grid(models, {"density": density}, bundle_stats(models), frames, settings.seed)


def _check_region(models: Any, codes: Codes, start: int, end: int) -> tuple[Any, int, int]:
    """(prior, start, end) when the codes are this model's and the region lies inside them."""
    _, prior, _ = check_models(models)
    check_full_grid(models, codes, what="these codes")
    start, end = int(start), int(end)
    if not 0 <= start < end <= codes.frames:
        raise GenerationError(
            f"the region {start}..{end} must lie inside the grid's frames 0..{codes.frames} "
            "and be at least one frame long"
        )
    return prior, start, end
