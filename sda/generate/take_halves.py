"""A steered take drawn as two halves side by side, the first running on into the second.

A take steered by candidates (measured and chosen every second) spends most of its time in the
prior's sequential columns. Drawn as a loop's take is, two halves as groups of rows of one batch
(`sda.generate.loop_take`), it needs half the columns, and the halves' chunks are measured side
by side. The first half's rows run on a few frames into the second half's start, and the row
after which the second half's music is likeliest is kept (`sda.generate.drawn_joins`), so the
music runs on across the middle as across a loop's seam. The prior's window is ~4 s, so a take
drawn whole remembers no more than that of its first half either. Measured on a stereo textures
prior (experiments/RESULTS.md, Prior, 2026-12-07 night and late night): 20 s takes with
brightness and tension 1.3-1.4x the speed of a take drawn whole (11.9-12.3x against 8.9-9.3x
real time); tension rho on 10 s takes +0.84 / +0.82 in halves, +0.85 / +0.79 whole (two sets of
8 seeds). One take fed back is left whole (not measured in halves).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sda.dna.codes import Codes
from sda.dna.take import Take
from sda.generate import engine
from sda.generate.curves import ControlValue
from sda.generate.loop import default_seam_frames
from sda.generate.loop_take import halves_fit, loop_take
from sda.generate.regenerate import regenerate_region
from sda.generate.render import render_take
from sda.generate.settings import GenerationSettings, checked_controls

JOIN_CANDIDATES = 4  # redraws of an unjoined middle scored, as for a loop's joins
SAMPLING = ("temperature", "top_k", "top_p", "guidance")


def generate(models: Any, *, halves: bool = True, **options: Any) -> Take:
    """A new take: `generate_codes(models, **options)` decoded once and rendered with its
    controls (level, tone, roughness, density's rests: `sda.generate.render`)."""
    codes = generate_codes(models, halves=halves, **options)
    return render_take(models, codes, checked_controls(options.get("controls")))


def generate_codes(models: Any, *, halves: bool = True, **options: Any) -> Codes:
    """The codes of a new take (`sda.generate.engine.generate_codes`'s options). A take of 2 s
    or more steered by candidates, without a prompt, is drawn in halves (`take_in_halves`);
    `halves=False`, or any other take, is drawn whole."""
    whole = options.get("prompt") is not None or options.get("seconds") is None
    if not halves or whole or options.get("candidates", 1) < 2:
        return engine.generate_codes(models, **options)
    settings = GenerationSettings(  # the limits first, as a take drawn whole checks them
        seconds=options.get("seconds"), candidates=options["candidates"],
        controls=options.get("controls") or {},
        **{key: options[key] for key in (*SAMPLING, "seed") if options.get(key) is not None},
    )  # fmt: skip
    codec, _, _ = engine.check_models(models)
    frames = engine.take_frames(codec, settings.seconds)
    steered = engine.steering_stats(models, settings.candidates, settings.controls) is not None
    if not steered or not halves_suit(models, frames):
        return engine.generate_codes(models, **options)
    return take_in_halves(
        models, frames, seed=settings.seed, controls=settings.controls,
        candidates=settings.candidates, on_progress=options.get("on_progress"),
        **{key: options[key] for key in SAMPLING if key in options},
    )  # fmt: skip


def halves_suit(models: Any, frames: int) -> bool:
    """Whether a take of `frames` is long enough to be drawn in halves (as a loop's take)."""
    window = models.prior.config.context_frames
    return halves_fit(frames, default_seam_frames(frames, window), window)


def take_in_halves(
    models: Any,
    frames: int,
    *,
    seed: int,
    controls: Mapping[str, ControlValue],
    candidates: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    guidance: float = 1.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> Codes:
    """The codes of a new steered take of `frames`: two halves drawn side by side, each steered
    by itself, joined as drawn. Without candidates to choose the join from (`candidates=1`),
    the frames around the halves' meeting are redrawn given both sides instead."""
    sampling = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "guidance": guidance}
    seam = default_seam_frames(frames, models.prior.config.context_frames)
    codes, joins = loop_take(
        models, frames, seam=seam, seed=seed, controls=controls, candidates=candidates,
        circular=False, on_progress=on_progress, **sampling,
    )  # fmt: skip
    if not joins:  # the first half ran on into the second, its best-joining row kept
        return codes
    start = joins[-1] - seam // 2
    return regenerate_region(
        models, codes, start, start + seam, seed=seed, candidates=JOIN_CANDIDATES,
        controls=controls, **sampling,
    )  # fmt: skip
