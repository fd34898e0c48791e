"""The take a loop is made of, drawn as two halves side by side.

A loop's seam is redrawn anyway: its end and its start are unrelated music until the prior joins
them. So the take may as well be two halves drawn at once, as two rows of one batch (on a CPU a
column of two rows costs ~1.1 times a column of one, not twice), with a second join where the
first half meets the second; `seamless_grid` redraws both joins in one batch. The take then needs
about half the sequential columns. A take steered while drawn (candidates compared with the
controls, tension fed back) is drawn in halves too: each half's candidates are a group of rows,
steered by itself against its part of the controls (`sda.generate.particle_groups`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from sda.dna.codes import Codes
from sda.generate.curves import ControlValue
from sda.generate.engine import (
    check_models,
    continue_codes,
    control_tensors,
    generate_codes,
    sampling_settings,
    steering_stats,
)
from sda.generate.loudness_range import conditioning_controls
from sda.generate.particle_groups import ParticleGroups
from sda.generate.particles import ParticleSteering
from sda.generate.rests import known_grid
from sda.generate.settings import GenerationSettings
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import new_codes


def halves_fit(frames: int, seam: int, window: int) -> bool:
    """Whether a loop of `frames` may be drawn in halves: every redrawn join must keep at least a
    seam's length, and an eighth of the prior's `window` (~0.5 s), of untouched frames on each
    side to continue from and lead into. Shorter loops are drawn whole, as before halves."""
    return frames // 2 - seam >= max(seam, window // 8)


def loop_take(
    models: Any,
    frames: int,
    *,
    seam: int,
    seed: int = 0,
    controls: Mapping[str, ControlValue] | None = None,
    candidates: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    **sampling: Any,
) -> tuple[Codes, tuple[int, ...]]:
    """(codes, joins): a take of `frames` for a loop, and the frames where its music jumps (0,
    where its end meets its start; and the middle, when drawn in halves). `sampling`:
    temperature, top_k, top_p, guidance, as `generate_codes` takes them; `on_progress(done,
    frames)` as there."""
    codec, prior, fingerprint = check_models(models)
    settings = GenerationSettings(
        seconds=frames / float(codec.config.frame_rate), seed=seed, candidates=candidates,
        controls=controls or {}, **sampling,
    )  # fmt: skip
    if not halves_fit(frames, seam, prior.config.context_frames):
        whole = generate_codes(
            models, seconds=settings.seconds, seed=seed, controls=controls,
            candidates=candidates, on_progress=on_progress, **sampling,
        )  # fmt: skip
        side = whole.side_indices
        codes = whole.with_indices(
            whole.indices[:, :frames], side_indices=None if side is None else side[:, :frames]
        )
        return codes, (0,)
    half = (frames + 1) // 2  # the first half; the second is one frame shorter when odd
    progress = None if on_progress is None else _as_take_frames(on_progress, frames)
    grid, step = _draw_halves(models, codec, prior, settings, frames, half, progress)
    step = {"op": "generate", "halves": [0, half], **settings.to_dict(), **step}
    return new_codes(models, fingerprint, grid, {"operations": [step]}), (0, half)


def _as_take_frames(
    on_progress: Callable[[int, int], None], frames: int
) -> Callable[[int, int], None]:
    """Progress of the halves (drawn together: `done` of `half` frames each) reported as frames
    of the whole take."""

    def report(done: int, total: int) -> None:
        on_progress(min(frames, round(done * frames / total)), frames)

    return report


def _draw_halves(
    models, codec, prior, settings: GenerationSettings, frames: int, half: int, on_progress=None
):
    """(rows, frames), what the draw records: the take's two halves drawn side by side, `half`
    frames each, each with its part of any control curve and of the rests, then laid end to end.
    Steered, each half is a group of candidates (group after group in the batch) steered by
    itself, and its closest row is kept."""
    stats = bundle_stats(models)
    conditioning = conditioning_controls(settings.controls, stats)
    steered = steering_stats(models, settings.candidates, settings.controls)
    rows = settings.candidates if steered is not None else 1  # a group's rows
    steering = None
    if steered is not None:
        groups = [ParticleSteering(codec, steered, conditioning, frames) for _ in range(2)]
        steering = ParticleGroups(groups, starts=(0, half), rows=rows)
    values, mask = control_tensors(conditioning, 1, frames)
    device = prior.position_embedding.weight.device
    parts = torch.stack([torch.arange(half), torch.arange(half, 2 * half).clamp(max=frames - 1)])
    if values is not None:
        values = values[0, parts] if values.dim() == 3 else values.expand(2, -1)
        values = values.repeat_interleave(rows, dim=0).to(device)
        mask = mask.expand(2 * rows, -1).to(device)
    rests = known_grid(models, settings.controls, stats, frames, settings.seed)
    known = None
    if rests is not None:  # (2 * rows, grid rows, half)
        known = torch.from_numpy(rests)[:, parts].permute(1, 0, 2).repeat_interleave(rows, dim=0)
        known = known.to(device)
    drawn = continue_codes(
        prior, None, half, settings=sampling_settings(settings),
        generator=torch.Generator(device=device).manual_seed(settings.seed),
        controls=values, control_mask=mask, batch=2 * rows, known=known, steering=steering,
        on_progress=on_progress,
    ).cpu()  # fmt: skip  # (2 * rows, grid rows, half)
    chosen, step = [0, 0], {}
    if steering is not None and rows > 1:  # the last choice: each half's final chunk
        chosen = steering.closest(drawn, ends=(half, frames - half))
    if steering is not None:
        step = _steering_record(steering, chosen, rows)
    first, second = drawn[chosen[0]], drawn[rows + chosen[1], :, : frames - half]
    return torch.cat([first, second], dim=1).numpy(), step


def _steering_record(steering: ParticleGroups, chosen: list[int], rows: int) -> dict:
    """What a steered draw of halves records beside its settings (their `candidates`, the rows
    per half): each half's chosen row, and each half's feedback offsets."""
    step: dict = {}
    if rows > 1:
        step["chosen"] = chosen
    feedback = [group.offsets for group in steering.groups]
    if any(feedback):
        step["feedback"] = [{name: round(v, 4) for name, v in f.items()} for f in feedback]
    return step
