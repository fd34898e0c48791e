"""`generate`: new code grids of any length from a bundle's prior, steered by the musical controls.

Outputs longer than the prior's window are made window by window: each new window starts from the
last half-window of codes already made (code-level continuation), so the music carries on instead of
restarting. One seeded generator drives every draw, so a seed always gives the same grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats
from sda.dna.codes import Codes
from sda.errors import SdaError
from sda.generate.curves import (
    ControlValue,
    ControlValueError,
    describe,
    keyframes,
    sample_curve,
)
from sda.generate.decoding import decode_codes
from sda.generate.sampling import SamplingSettings, sample_window
from sda.generate.steering import MAX_CANDIDATES, bundle_stats, closest_candidate

MAX_SECONDS = 600.0


class GenerationError(SdaError):
    """Generation settings or models that cannot work together."""


def check_settings(
    *,
    seconds: float | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    guidance: float = 1.0,
    candidates: int = 1,
) -> None:
    """Raise `GenerationError` with one clear message for the first bad setting."""
    if seconds is not None and not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise GenerationError(
            f"seconds must be more than 0 and at most {MAX_SECONDS:.0f}, got {seconds}"
        )
    if not (math.isfinite(temperature) and temperature > 0):
        raise GenerationError(
            f"temperature must be more than 0 (1.0 is neutral), got {temperature}"
        )
    if top_k is not None and top_k < 0:
        raise GenerationError(f"top-k must be 0 (off) or a positive number of codes, got {top_k}")
    if top_p is not None and not (0 < top_p <= 1):
        raise GenerationError(f"top-p must be more than 0 and at most 1, got {top_p}")
    if not (math.isfinite(guidance) and 0 <= guidance <= 20):
        raise GenerationError(
            f"guidance must be between 0 (ignore controls) and 20, got {guidance}"
        )
    if not 1 <= int(candidates) <= MAX_CANDIDATES:
        raise GenerationError(
            f"candidates must be between 1 (no choosing) and {MAX_CANDIDATES}, got {candidates}"
        )


def control_tensors(
    controls: Mapping[str, ControlValue] | None, batch: int = 1, frames: int | None = None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """{name: 0..1 or curve} -> (values, mask): values (batch, controls), or (batch, frames,
    controls) when some control is a curve and the take's `frames` are given (without `frames` a
    curve counts as its mean); mask (batch, controls), unset controls masked."""
    if not controls:
        return None, None
    points: dict[str, list[float]] = {}
    for name, value in controls.items():
        if value is None:
            continue
        if name not in CONTROL_NAMES:
            raise GenerationError(
                f"unknown control {name!r}; the controls are {', '.join(CONTROL_NAMES)}"
            )
        try:
            points[name] = keyframes(name, value)
        except ControlValueError as error:
            raise GenerationError(str(error)) from None
    if not points:
        return None, None
    curved = frames is not None and any(len(p) > 1 for p in points.values())
    steps = (frames,) if curved else ()
    values = torch.zeros(batch, *steps, len(CONTROL_NAMES))
    mask = torch.zeros(batch, len(CONTROL_NAMES), dtype=torch.bool)
    for name, keys in points.items():
        index = CONTROL_NAMES.index(name)
        curve = sample_curve(keys, frames) if curved else float(np.mean(keys))
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
    if (config.num_levels, config.codebook_size) != (
        codec.config.num_levels,
        codec.config.codebook_size,
    ):
        raise GenerationError(
            f"the prior of {name} expects {config.num_levels} levels of {config.codebook_size} codes "
            f"but the codec has {codec.config.num_levels} of {codec.config.codebook_size}: "
            "codec and prior come from different runs"
        )
    return codec, prior, fingerprint


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
    on_progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:  # -> (batch, levels, frames) new codes only
    """`frames` new frames after `history`, window by window."""
    window = prior.config.context_frames
    overlap = window // 2 if overlap is None else max(0, min(overlap, window - 1))
    made: list[torch.Tensor] = []
    done = 0
    while done < frames:
        prompt = None if history is None or overlap == 0 else history[:, :, -overlap:]
        known = 0 if prompt is None else prompt.shape[2]
        new = min(frames - done, window - known)
        grid = sample_window(
            prior,
            frames=known + new,
            batch=batch,
            prompt=prompt,
            controls=window_controls(controls, done - known, known + new),
            control_mask=control_mask,
            settings=settings,
            generator=generator,
        )[:, :, known:]
        made.append(grid)
        history = grid if history is None else torch.cat([history[:, :, -window:], grid], dim=2)
        done += new
        if on_progress is not None:
            on_progress(done, frames)
    return torch.cat(made, dim=2)


def generate(
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
    """A new grid of `seconds` seconds from `models` (anything with .codec, .prior, .meta: a Bundle).

    `controls` maps control names to 0..1 targets, or to curves of keyframes spread over the take
    (`[0.1, 0.9]` rises; see `sda.generate.curves`); unset ones are free; `guidance` scales how hard
    they pull (0 ignores them). With `candidates` > 1 and some controls set, that many grids are
    sampled in one batch, decoded and measured, and the one closest to the controls is returned
    (see `sda.generate.steering`). With `prompt` the new codes continue it; `include_prompt`
    returns prompt + continuation. `on_progress(done_frames, total_frames)` reports progress.
    """
    check_settings(
        seconds=seconds, temperature=temperature, top_k=top_k, top_p=top_p, guidance=guidance,
        candidates=candidates,
    )  # fmt: skip
    codec, prior, fingerprint = check_models(models)
    targets = {name: value for name, value in (controls or {}).items() if value is not None}
    stats = _descriptor_stats(models) if candidates > 1 and targets else None
    batch = candidates if stats is not None else 1
    frame_rate = float(codec.config.frame_rate)
    frames = max(1, math.ceil(seconds * frame_rate))
    values, mask = control_tensors(controls, batch, frames)
    history = None
    if prompt is not None:
        if prompt.bundle_id != fingerprint or prompt.codebook_size != prior.config.codebook_size:
            raise GenerationError(
                f"the prompt was encoded by model {prompt.bundle_id}, not by this one ({fingerprint}); "
                "encode the prompt with the same model"
            )
        if prompt.levels != prior.config.num_levels or prompt.frames == 0:
            raise GenerationError(
                f"the prompt needs all {prior.config.num_levels} levels and at least one frame, "
                f"it has {prompt.levels} levels and {prompt.frames} frames"
            )
        history = torch.tensor(np.asarray(prompt.indices), dtype=torch.long)[None]
    settings = SamplingSettings(
        temperature=float(temperature), top_k=top_k or None, top_p=top_p, guidance=float(guidance)
    )
    device = prior.position_embedding.weight.device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    if history is not None:
        history = history.to(device).expand(batch, -1, -1)
    grids = continue_codes(
        prior,
        history,
        frames,
        settings=settings,
        generator=generator,
        controls=values,
        control_mask=mask,
        batch=batch,
        on_progress=on_progress,
    ).cpu()  # (batch, levels, frames)
    chosen, distances = 0, None
    if stats is not None:
        size = prior.config.codebook_size
        audio = [
            decode_codes(codec, Codes(g.numpy(), fingerprint, frame_rate, size)) for g in grids
        ]
        chosen, distances = closest_candidate(audio, int(codec.config.sample_rate), targets, stats)
    new = grids[chosen].numpy()  # (levels, frames)
    if include_prompt and prompt is not None:
        new = np.concatenate([np.asarray(prompt.indices), new], axis=1)
    step = {
        "op": "generate",
        "seed": int(seed),
        "seconds": float(seconds),
        "temperature": float(temperature),
        "top_k": top_k,
        "top_p": top_p,
        "guidance": float(guidance),
        "controls": {name: describe(value, name) for name, value in targets.items()},
        "prompt": prompt is not None,
    }
    if distances is not None:
        step["candidates"] = {"count": len(distances), "chosen": chosen,
                              "distances": [round(d, 4) for d in distances]}  # fmt: skip
    operations = [*(prompt.provenance.get("operations", []) if prompt is not None else []), step]
    return Codes(
        indices=new,
        bundle_id=fingerprint,
        frame_rate=frame_rate,
        codebook_size=prior.config.codebook_size,
        provenance={"operations": operations},
    )


def _descriptor_stats(models: Any) -> DescriptorStats:
    """`bundle_stats`, or a clear refusal: candidates cannot be compared without them."""
    stats = bundle_stats(models)
    if stats is None:
        name = getattr(models, "name", "this model")
        raise GenerationError(
            f"{name} carries no descriptor statistics, so candidates cannot be compared with the "
            "controls; generate with candidates=1, or re-export the prior with `sda export`"
        )
    return stats
