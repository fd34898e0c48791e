"""`generate_codes`: new takes of any length from a bundle's prior, steered by the controls.

Outputs longer than the prior's window are made window by window: each new window starts from the
last half-window of codes already made (code-level continuation), so the music carries on instead of
restarting. One seeded generator drives every draw, so a seed always gives the same grid.
A stereo model's prior samples the mid's and the side's grids stacked; its takes are (2, samples)
(`sda.generate.stereo_takes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes
from sda.dna.errors import CodesError
from sda.generate.curves import ControlValue, curve_mean, keyframes, sample_curve
from sda.generate.loudness_range import conditioning_controls
from sda.generate.particle_groups import ParticleGroups
from sda.generate.particles import ParticleSteering
from sda.generate.rests import known_grid
from sda.generate.sampling import SamplingSettings, sample_window
from sda.generate.sampling_defaults import notes_controls
from sda.generate.settings import (
    GenerationError,
    GenerationSettings,
    checked_controls,
)
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import new_codes, prior_rows


def control_tensors(
    controls: Mapping[str, ControlValue] | None, batch: int = 1, frames: int | None = None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """{name: 0..1 or curve} -> (values, mask): values (batch, controls), or (batch, frames,
    controls) when some control is a curve and the take's `frames` are given (without `frames` a
    curve counts as its mean); mask (batch, controls), unset controls masked."""
    points = {name: keyframes(name, value) for name, value in checked_controls(controls).items()}
    if not points:
        return None, None
    curved = frames is not None and any(len(p) > 1 for p in points.values())
    steps = (frames,) if curved else ()
    values = torch.zeros(batch, *steps, len(CONTROL_NAMES))
    mask = torch.zeros(batch, len(CONTROL_NAMES), dtype=torch.bool)
    for name, keys in points.items():
        index = CONTROL_NAMES.index(name)
        curve = sample_curve(keys, frames) if curved else curve_mean(keys)
        values[..., index] = torch.as_tensor(curve, dtype=torch.float32)
        mask[:, index] = True
    return values, mask


def window_controls(controls: torch.Tensor | None, first: int, frames: int) -> torch.Tensor | None:
    """The part of per-frame controls (batch, take frames, controls) for take frames first..first
    + frames (clipped to the take: a prompt's frames get the first value); constant ones as is."""
    if controls is None or controls.dim() == 2:
        return controls
    index = torch.arange(first, first + frames).clamp(0, controls.shape[1] - 1)
    return controls[:, index.to(controls.device)]


def check_models(models: Any) -> tuple[Any, Any, str]:
    """(codec, prior, codec fingerprint) from a Bundle-like object, or a clear refusal."""
    codec, prior = getattr(models, "codec", None), getattr(models, "prior", None)
    name = getattr(models, "name", "this model")
    if codec is None:
        raise GenerationError(f"{name} has no codec; load a bundle or training run")
    if prior is None:
        raise GenerationError(
            f"{name} has no prior, so it cannot generate; train one with "
            "`sda-train-prior codec=...` and export it with the codec"
        )
    fingerprint = getattr(models, "id", None) or codec.fingerprint()
    config = prior.config
    meta = getattr(models, "meta", None) or {}
    trained_on = config.codec_fingerprint or meta.get("codec_fingerprint", "")
    if trained_on and trained_on != fingerprint:
        raise GenerationError(
            f"the prior of {name} was trained on codec {trained_on}, but its codec is {fingerprint}: "
            "codec and prior come from different runs; pair the prior with the codec it was trained on"
        )
    rows = codec.config.grid_levels  # a stereo model's prior reads mid + side levels
    if (config.num_levels, config.codebook_size) != (rows, codec.config.codebook_size):
        grid = "levels" if rows == codec.config.num_levels else "mid + side levels"
        raise GenerationError(
            f"the prior of {name} expects {config.num_levels} levels of {config.codebook_size} codes "
            f"but the codec has {rows} {grid} of {codec.config.codebook_size}: "
            "codec and prior come from different runs"
        )
    return codec, prior, fingerprint


def check_full_grid(models: Any, codes: Codes, *, what: str) -> None:
    """`sda.dna.codes_fit.check_codes` with every level (the prior continues whole grids), its
    refusal raised as this layer's `GenerationError` with the same words."""
    try:
        check_codes(models, codes, what=what, all_levels=True)
    except CodesError as error:
        raise GenerationError(str(error)) from None


def continue_codes(
    prior,
    history: torch.Tensor | None,  # (batch, levels, frames) codes to continue, or None
    frames: int,
    *,
    settings: SamplingSettings,
    generator: torch.Generator,
    controls: torch.Tensor | None = None,  # (batch, controls), or per frame (batch, frames, ...)
    control_mask: torch.Tensor | None = None,
    batch: int = 1,
    overlap: int | None = None,
    known: torch.Tensor | None = None,  # (1, levels, frames) forced new codes, -1 where free
    on_progress: Callable[[int, int], None] | None = None,
    steering: ParticleSteering | ParticleGroups | None = None,
) -> torch.Tensor:  # -> (batch, levels, frames) new codes only
    """`frames` new frames after `history`, window by window; `known` cells (rests) are forced;
    with `steering` the rows are candidates steered chunk by chunk (`sda.generate.particles`).

    A window that another follows stops at the column that draws its last frame's first level:
    the delay pattern's last columns would draw only the upper levels of its last frames, which
    the next window draws in the columns it runs anyway (a stereo prior's 16 levels: ~11 % of
    the columns). Every cell is still drawn given all the cells before it in its window."""
    window = prior.config.context_frames
    overlap = window // 2 if overlap is None else max(0, min(overlap, window - 1))
    drawn: torch.Tensor | None = None  # the new frames so far; the last ones' upper levels -1
    done = 0
    while done < frames:
        prompt = None if history is None or overlap == 0 else history[:, :, -overlap:]
        given = 0 if prompt is None else prompt.shape[2]
        new = min(frames - done, window - given)
        grid = sample_window(
            prior,
            frames=given + new,
            batch=batch,
            prompt=prompt,
            controls=window_controls(controls, done - given, given + new),
            control_mask=control_mask,
            known=_window_known(known, given, done, new),
            settings=settings,
            generator=generator,
            select=None if steering is None else steering.selection(done - given),
            finish=overlap == 0 or done + new >= frames,
        )
        lineage = None if steering is None else steering.lineage(grid.shape[0])
        if lineage is not None and drawn is not None:  # the rows became the chosen rows' draws
            drawn = drawn[lineage]
        back = 0 if drawn is None else min(given, done)  # the prompt's new frames, whole now
        kept = () if drawn is None else (drawn[:, :, : done - back],)
        drawn = torch.cat([*kept, grid[:, :, given - back :]], dim=2)
        history = grid  # the window: its prompt (now whole) and new frames, >= the next prompt
        done += new
        if on_progress is not None:
            on_progress(done, frames)
    return drawn


def _window_known(
    forced: torch.Tensor | None, prompt_frames: int, done: int, new: int
) -> torch.Tensor | None:
    """The forced cells of one window: free over its prompt, then the take's frames done..+new."""
    if forced is None:
        return None
    part = forced[:, :, done : done + new]
    if not bool((part >= 0).any()):
        return None
    free = part.new_full((*part.shape[:2], prompt_frames), -1)
    return torch.cat([free, part], dim=2)


def generate_codes(
    models: Any,
    *,
    seconds: float,
    seed: int = 0,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    guidance: float = 1.0,
    controls: Mapping[str, ControlValue] | None = None,
    prompt: Codes | None = None,
    include_prompt: bool = False,
    candidates: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> Codes:
    """The codes of a new take of `seconds` seconds from `models` (anything with .codec, .prior,
    .meta: a Bundle); `generate` renders them.

    `controls` maps control names to 0..1 targets, or to curves of keyframes spread over the take
    (`[0.1, 0.9]` rises; see `sda.generate.curves`); unset ones are free; `guidance` scales how hard
    they pull (0 ignores them). With `candidates` > 1 and some controls set, that many grids are
    drawn side by side and steered: every second of new frames each one's latest chunk is decoded
    and measured, and all continue from the closest (`sda.generate.particles`). Tension (which
    the render cannot set) is also fed back: what each second measured corrects the setting the
    prior is given next, one take or several. With `prompt`
    the new codes continue it; `include_prompt` keeps prompt + continuation.
    `on_progress(done_frames, total_frames)` reports progress. A stereo model samples mid and
    side together; a stereo prompt continues both grids, a mono one counts as centred;
    candidates are measured on the mid. This draws the take whole; `sda.generate.generate_codes`
    draws a long one steered by candidates in halves (`sda.generate.take_halves`).
    """
    settings = GenerationSettings(  # one set of limits, shared with the CLI and the app
        seconds=seconds,
        seed=seed,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        guidance=guidance,
        candidates=candidates,
        controls=controls or {},
    )
    codec, prior, fingerprint = check_models(models)
    targets = settings.controls  # as asked: the render sets the level from these
    # as the prior and the steering read them (a loudness level placed among the training windows)
    conditioning = conditioning_controls(targets, bundle_stats(models))
    stats = steering_stats(models, settings.candidates, targets)
    batch = settings.candidates if stats is not None else 1
    frames = take_frames(codec, settings.seconds)
    rests = known_grid(models, targets, bundle_stats(models), frames, settings.seed)
    steering = None if stats is None else ParticleSteering(codec, stats, conditioning, frames)
    grids = _sample_grids(
        prior, _prompt_history(models, prompt), frames, batch,
        replace(settings, controls=conditioning), rests, on_progress, steering,
    )  # fmt: skip
    chosen = 0
    if steering is not None and batch > 1:  # the last choice: the candidates' final chunk
        chosen = steering.closest(grids, max(0, frames - steering.chunk), frames)
    new = grids[chosen].numpy()  # (rows, frames): levels, or mid + side levels
    if include_prompt and prompt is not None:
        new = np.concatenate([prior_rows(models, prompt), new], axis=1)
    step = {
        "op": "generate", "seed": settings.seed, "seconds": settings.seconds,
        "temperature": settings.temperature, "top_k": top_k, "top_p": settings.top_p,
        "guidance": settings.guidance, "controls": targets, "prompt": prompt is not None,
    }  # fmt: skip
    if steering is not None and batch > 1:
        step["candidates"] = {"count": batch, "chosen": chosen,
                              "distances": [round(d, 4) for d in steering.distances]}  # fmt: skip
    if steering is not None and steering.offsets:  # what the feedback ended up asking for more
        step["feedback"] = {name: round(v, 4) for name, v in steering.offsets.items()}
    operations = [*(prompt.provenance.get("operations", []) if prompt is not None else []), step]
    return new_codes(models, fingerprint, new, {"operations": operations})


def take_frames(codec: Any, seconds: float) -> int:
    """The code frames a take of `seconds` has (at least one)."""
    return max(1, math.ceil(seconds * float(codec.config.frame_rate)))


def _prompt_history(models: Any, prompt: Codes | None) -> torch.Tensor | None:
    """The prompt as a (1, rows, frames) history to continue, or a clear refusal."""
    if prompt is None:
        return None
    check_full_grid(models, prompt, what="the prompt's codes")
    if prompt.frames == 0:
        raise GenerationError("the prompt is empty; give it at least one frame of codes")
    rows = prior_rows(models, prompt, what="the prompt's codes")
    return torch.tensor(rows, dtype=torch.long)[None]


def _sample_grids(
    prior,
    history: torch.Tensor | None,  # (1, levels, frames) codes to continue, or None
    frames: int,
    batch: int,
    settings: GenerationSettings,
    rests: np.ndarray | None,  # (levels, frames): the codes of silence where the take rests
    on_progress: Callable[[int, int], None] | None,
    steering: ParticleSteering | None = None,
) -> torch.Tensor:  # -> (batch, levels, frames) on the CPU
    """`batch` grids of `frames` new frames from one generator seeded with `settings.seed`."""
    values, mask = control_tensors(settings.controls, batch, frames)
    device = prior.position_embedding.weight.device
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    if history is not None:
        history = history.to(device).expand(batch, -1, -1)
    return continue_codes(
        prior, history, frames, settings=sampling_settings(settings), generator=generator,
        controls=values, control_mask=mask, batch=batch, on_progress=on_progress,
        known=None if rests is None else torch.from_numpy(rests)[None].to(device),
        steering=steering,
    ).cpu()  # fmt: skip


def sampling_settings(settings: GenerationSettings) -> SamplingSettings:
    """What each sampling step needs of the settings."""
    return SamplingSettings(
        temperature=settings.temperature, top_k=settings.top_k or None, top_p=settings.top_p,
        guidance=settings.guidance,
    )  # fmt: skip


def steering_stats(
    models: Any, candidates: int, targets: Mapping[str, ControlValue]
) -> DescriptorStats | None:
    """The descriptor ranges a take is steered by, or None for a plain take: several candidates
    need them (a clear refusal without); one take uses them for feedback on the controls the
    render cannot set (tension), when the model carries them."""
    if candidates > 1 and targets:
        return _descriptor_stats(models)
    if notes_controls(targets):
        return bundle_stats(models)
    return None


def _descriptor_stats(models: Any) -> DescriptorStats:
    """`bundle_stats`, or a clear refusal: candidates cannot be compared without them."""
    stats = bundle_stats(models)
    if stats is None:
        name = getattr(models, "name", "this model")
        raise GenerationError(
            f"{name} carries no descriptor statistics, so candidates cannot be compared with the "
            "controls; generate with candidates=1, or add the prior again with `sda library add`"
        )
    return stats
