"""Seamless loops: takes whose end flows into their start.

1. A new loop's take is drawn as two halves side by side (`sda.generate.loop_take`): its music
   jumps where its end meets its start and where its halves meet, its "joins".
2. The grid is rotated so that no join lies at its edge: the frames that now wrap around were
   neighbours in the take, so they flow by nature.
3. The prior redraws the frames around every join given the codes on both sides, all joins in one
   batch (`sda.generate.circular_redraw`), so the new material leads from one part into the next.
   Steered halves skip 2 and 3: they come joined as drawn (`sda.generate.drawn_joins`).
4. The grid's audio, decoded as if it repeated, is cut to the loop's exact length where it joins
   best (`sda.generate.loop_cut`).
A stereo model's loop rotates and redraws its mid and side grids together and is (2, samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sda.audio.loop_points import LoopPoints
from sda.audio.seam import SeamReport, measure_seam, uniform_gain
from sda.dna.codes import Codes
from sda.generate.circular_redraw import circular_regions, redraw_circular
from sda.generate.curves import ControlValue, curve_mean, keyframes
from sda.generate.engine import check_models
from sda.generate.loop_cut import CROSSFADE_MS, loop_audio
from sda.generate.loop_length import MIN_LOOP_FRAMES, LoopError, LoopLength
from sda.generate.loop_take import loop_take
from sda.generate.render import set_level
from sda.generate.rests import resting_frames
from sda.generate.roughness import set_roughness
from sda.generate.tone import set_tone


@dataclass(frozen=True, eq=False)
class Loop:
    """A loop: its grid (one period) and audio that repeats seamlessly, with its seam measure."""

    codes: Codes  # (levels, frames) (and a side grid): the take rotated, its join redrawn
    # (samples,) float32 at `sample_rate`, (2, samples) from a stereo model; plays again from
    # its first sample
    audio: np.ndarray
    sample_rate: int
    seam: SeamReport
    pitch_cents: float = 0.0  # a tempo-fitted loop stretched to its bars: its pitch change

    @property
    def samples(self) -> int:
        return int(self.audio.shape[-1])

    @property
    def channels(self) -> int:
        return 1 if self.audio.ndim == 1 else 2

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    @property
    def points(self) -> LoopPoints:
        """The loop points to write with the file: the whole file loops."""
        return LoopPoints(0, self.samples)


def default_seam_frames(frames: int, window: int) -> int:
    """Frames redrawn around the join: an eighth of the prior's window (about 0.5 s), at most a
    quarter of the loop."""
    return max(2, min(window // 8, frames // 4))


def seamless_grid(
    models: Any,
    codes: Codes,
    *,
    seed: int = 0,
    seam_frames: int | None = None,
    candidates: int = 4,
    controls: Mapping[str, ControlValue] | None = None,
    joins: Sequence[int] = (0,),
    **sampling: Any,
) -> Codes:
    """`codes` rotated so that every join (a frame where the music jumps; 0 is where the end
    meets the start) lies inside the grid, and the frames around each join redrawn by the prior
    given both sides, all joins in one batch (`sampling`: temperature, top_k, top_p, guidance).
    Played over and over, the result runs on without a jump."""
    _, prior, _ = check_models(models)
    frames = codes.frames
    if frames < MIN_LOOP_FRAMES:
        raise LoopError(
            f"A loop needs at least {MIN_LOOP_FRAMES} code frames to join its end to its start; "
            f"this take has {frames}: generate a longer one."
        )
    joins = sorted({0, *(int(j) % frames for j in joins)})
    seam = seam_frames or default_seam_frames(frames, prior.config.context_frames)
    most = min(np.diff([*joins, frames + joins[0]])) // 2  # each seam keeps frames on its sides
    if not 1 <= seam <= most:
        raise LoopError(f"The seam must be 1 to {most} frames long, got {seam}.")
    shift, starts = circular_regions(joins, frames, seam)
    side = codes.side_indices
    rotated = codes.with_indices(
        np.roll(np.asarray(codes.indices), -shift, axis=1),
        side_indices=None if side is None else np.roll(np.asarray(side), -shift, axis=1),
        operations=[*codes.provenance.get("operations", []), {"op": "rotate", "frames": shift}],
    )
    regions = [(start, start + seam) for start in starts]
    return redraw_circular(
        models, rotated, regions, seed=seed, candidates=candidates, controls=controls, **sampling
    )


def make_loop(
    models: Any,
    codes: Codes,
    *,
    samples: int | None = None,
    seed: int = 0,
    seam_frames: int | None = None,
    candidates: int = 4,
    controls: Mapping[str, ControlValue] | None = None,
    crossfade_ms: float = CROSSFADE_MS,
    joins: Sequence[int] = (0,),
    **sampling: Any,
) -> Loop:
    """A seamless loop from a take's `codes`: joins redrawn (`seamless_grid`, `candidates` tried
    for the best join), decoded as a repeating grid and cut to `samples` (default: the grid's
    length). Its level is set like a take's, by one gain (a loudness curve counts as its mean:
    a gain that changes over the loop would jump at the seam)."""
    grid = seamless_grid(
        models,
        codes,
        seed=seed,
        seam_frames=seam_frames,
        candidates=candidates,
        controls=controls,
        joins=joins,
        **sampling,
    )
    return loop_from_grid(
        models, grid, samples=samples, seed=seed, controls=controls, crossfade_ms=crossfade_ms
    )


def loop_from_grid(
    models: Any,
    grid: Codes,
    *,
    samples: int | None = None,
    seed: int = 0,
    controls: Mapping[str, ControlValue] | None = None,
    crossfade_ms: float = CROSSFADE_MS,
) -> Loop:
    """A seamless loop from a `grid` that already repeats without a jump (joined by
    `seamless_grid`, or drawn joined): decoded as a repeating grid, cut to `samples` (default:
    the grid's length) and rendered with `controls` as `make_loop` renders."""
    codec, _, _ = check_models(models)
    spf = codec.config.samples_per_frame
    target = grid.frames * spf if samples is None else int(samples)
    rests = resting_frames(models, grid) if "density" in (controls or {}) else None
    cut = loop_audio(models, grid, target, crossfade_ms=crossfade_ms, rests=rests)  # stereo: 2 ch
    rough = set_roughness(models, cut.audio, controls, circular=True)  # one turn of the loop
    toned = set_tone(models, rough, controls, circular=True)
    audio = set_level(models, toned, _steady_loudness(controls)).astype(np.float32)
    rate = int(codec.config.sample_rate)
    gain = uniform_gain(audio, cut.audio)  # level alone: the seam measure scales with it
    seam = measure_seam(audio, rate) if gain is None else cut.seam.scaled(gain)
    step = {"op": "loop", "samples": int(audio.shape[-1]), "seed": int(seed)}
    if cut.pitch_cents:
        step["pitch_cents"] = round(cut.pitch_cents, 2)
    grid = grid.with_indices(grid.indices, operations=[*grid.provenance["operations"], step])
    return Loop(grid, audio, rate, seam, cut.pitch_cents)


def _steady_loudness(
    controls: Mapping[str, ControlValue] | None,
) -> Mapping[str, ControlValue] | None:
    """`controls` with a loudness curve replaced by its mean over the take."""
    target = (controls or {}).get("loudness")
    if target is None:
        return controls
    return {**controls, "loudness": curve_mean(keyframes("loudness", target))}


def generate_loop(
    models: Any,
    length: LoopLength,
    *,
    seed: int = 0,
    controls: Mapping[str, ControlValue] | None = None,
    candidates: int = 1,
    seam_candidates: int = 4,
    crossfade_ms: float = CROSSFADE_MS,
    **sampling: Any,
) -> Loop:
    """A new take of `length` (see `loop_length`) from `models`, made into a seamless loop.

    `candidates` and `sampling` (temperature, top_k, top_p, guidance) go to `generate_codes`;
    the take is drawn in two halves, steered ones too (`sda.generate.loop_take`). Steered
    halves come joined (each ran on into the other's start, the rows that join best kept);
    otherwise `seam_candidates` redraws of each join are scored and the best kept."""
    _, prior, _ = check_models(models)
    seam = default_seam_frames(length.frames, prior.config.context_frames)
    codes, joins = loop_take(  # not rendered: the loop is decoded and rendered whole below
        models, length.frames, seam=seam, seed=seed, controls=controls, candidates=candidates,
        **sampling,
    )  # fmt: skip
    if not joins:
        return loop_from_grid(
            models, codes, samples=length.samples, seed=seed, controls=controls,
            crossfade_ms=crossfade_ms,
        )  # fmt: skip
    return make_loop(
        models,
        codes,
        samples=length.samples,
        seed=seed,
        seam_frames=seam,
        candidates=seam_candidates,
        controls=controls,
        crossfade_ms=crossfade_ms,
        joins=joins,
        **sampling,
    )
