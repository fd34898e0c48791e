"""The take a loop is made of, drawn as two halves side by side.

A loop's seam is redrawn anyway: its end and its start are unrelated music until the prior joins
them. So the take may as well be two halves drawn at once, as two rows of one batch (on a CPU a
column of two rows costs ~1.1 times a column of one, not twice), with a second join where the
first half meets the second; `seamless_grid` redraws both joins in one batch. The take then needs
about half the sequential columns. A take steered while drawn (candidates compared with the
controls, tension fed back) is drawn in halves too: each half's candidates are a group of rows,
steered by itself against its part of the controls (`sda.generate.particle_groups`), and each
half runs on into the other's start, so the rows kept are those that join best and nothing is
redrawn (`sda.generate.drawn_joins`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from sda.dna.codes import Codes
from sda.generate.curves import ControlValue
from sda.generate.drawn_joins import Halves, join_pair
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
    circular: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    **sampling: Any,
) -> tuple[Codes, tuple[int, ...]]:
    """(codes, joins): a take of `frames` for a loop, and the frames where its music jumps and
    wants redrawing (0, where its end meets its start; and the middle, when drawn in halves).
    Halves steered by candidates come joined already (`sda.generate.drawn_joins`: no joins to
    redraw); `circular=False` (a plain take) joins only the middle. `sampling`: temperature,
    top_k, top_p, guidance, as `generate_codes` takes them; `on_progress(done, frames)` as
    there."""
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
    shape = _Shape(frames, half, seam // 2, circular)
    grid, step = _draw_halves(models, codec, prior, settings, shape, progress)
    step = {"op": "generate", "halves": [0, half], **settings.to_dict(), **step}
    joins = () if "joined" in step else (0, half)
    return new_codes(models, fingerprint, grid, {"operations": [step]}), joins


def _as_take_frames(
    on_progress: Callable[[int, int], None], frames: int
) -> Callable[[int, int], None]:
    """Progress of the halves (drawn together: `done` of `half` frames each) reported as frames
    of the whole take."""

    def report(done: int, total: int) -> None:
        on_progress(min(frames, round(done * frames / total)), frames)

    return report


@dataclass(frozen=True)
class _Shape:
    """A take of `frames` drawn in halves, the first `half` frames long; steered halves run on
    `extend` frames into the other's start (the second's into the first's when `circular`)."""

    frames: int
    half: int
    extend: int
    circular: bool

    def positions(self, drawn: int) -> torch.Tensor:
        """(2, drawn): the take's frame each half's drawn frame stands for (its controls and
        rests); a plain take's second half repeats its last frame past the end."""
        second = torch.arange(self.half, self.half + drawn)
        second = second % self.frames if self.circular else second.clamp(max=self.frames - 1)
        return torch.stack([torch.arange(drawn), second])


def _draw_halves(
    models, codec, prior, settings: GenerationSettings, shape: _Shape, on_progress=None
):
    """(rows, frames), what the draw records: the take's two halves drawn side by side, each with
    its part of any control curve and of the rests, then laid end to end. Steered, each half is a
    group of candidates (group after group in the batch) steered by itself; then each half runs
    on into the other's start and the rows that join best are kept (`drawn_joins`)."""
    stats = bundle_stats(models)
    conditioning = conditioning_controls(settings.controls, stats)
    steered = steering_stats(models, settings.candidates, settings.controls)
    rows = settings.candidates if steered is not None else 1  # a group's rows
    extend = shape.extend if rows > 1 else 0
    steering = None
    if steered is not None:
        groups = [ParticleSteering(codec, steered, conditioning, shape.frames) for _ in range(2)]
        # joined as drawn: the last choice falls where the halves' own frames are complete, so
        # the rows differ only in what they run on into the other half (the join's candidates)
        last = shape.half + prior.config.num_levels - 2 if extend else None
        steering = ParticleGroups(groups, starts=(0, shape.half), rows=rows, choose_last=last)
    device = prior.position_embedding.weight.device
    values, mask, known = _halves_conditions(
        models, settings, stats, conditioning, shape, shape.half + extend, rows
    )
    drawn = continue_codes(
        prior, None, shape.half + extend, settings=sampling_settings(settings),
        generator=torch.Generator(device=device).manual_seed(settings.seed),
        controls=values, control_mask=mask, batch=2 * rows, known=known, steering=steering,
        on_progress=on_progress,
    ).cpu()  # fmt: skip  # (2 * rows, grid rows, half + extend)
    halves = Halves(drawn, rows, (shape.half, shape.frames - shape.half), extend)
    chosen, step = (0, 0), {}
    if extend:
        chosen = _joined_rows(prior, halves, steering, conditioning, shape.circular)
        step["joined"] = extend
    elif steering is not None and rows > 1:  # the last choice: each half's final chunk
        chosen = tuple(steering.closest(drawn, ends=halves.own))
    if steering is not None:
        step |= _steering_record(steering, list(chosen), rows)
    return halves.grid(chosen, circular=shape.circular).numpy(), step


def _halves_conditions(models, settings, stats, conditioning, shape: _Shape, drawn: int, rows):
    """(values, mask, known) for the batch of both halves' rows, `drawn` frames each: each half's
    part of the control curves and of the rests (`stats`: the controls' ranges)."""
    device = models.prior.position_embedding.weight.device
    parts = shape.positions(drawn)  # the take's frame of each drawn frame, per half
    values, mask = control_tensors(conditioning, 1, shape.frames)
    if values is not None:
        values = values[0, parts] if values.dim() == 3 else values.expand(2, -1)
        values = values.repeat_interleave(rows, dim=0).to(device)
        mask = mask.expand(2 * rows, -1).to(device)
    rests = known_grid(models, settings.controls, stats, shape.frames, settings.seed)
    known = None
    if rests is not None:  # (2 * rows, grid rows, drawn frames)
        known = torch.from_numpy(rests)[:, parts].permute(1, 0, 2).repeat_interleave(rows, dim=0)
        known = known.to(device)
    return values, mask, known


def _joined_rows(prior, halves: Halves, steering, conditioning, circular: bool) -> tuple[int, int]:
    """The rows kept: for a loop the pair whose joins score best both ways; for a take, the
    second half's row (any, when the last choice made its own frames one; else the closest to
    the controls), and the first half's that leads best into it."""
    device = prior.position_embedding.weight.device
    values, mask = control_tensors(conditioning)  # the take's mean settings
    if values is not None:
        values, mask = values.to(device), mask.to(device)
    second = None
    if not circular:  # the last choice made the rows' own frames one: measure only if it did not
        rows, own = halves.group(1), halves.own[1]
        alike = bool((rows[:, :, :own] == rows[:1, :, :own]).all())
        second = 0 if alike else steering.closest_in(1, halves.drawn, own)
    return join_pair(
        prior, halves, circular=circular, controls=values, control_mask=mask, second=second
    )


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
