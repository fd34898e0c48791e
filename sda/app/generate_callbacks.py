"""Generate tab logic as plain functions: settings in, takes out (no Gradio, testable directly)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sda.app.errors import AppError
from sda.app.free_memory import return_freed_memory
from sda.app.state import PREVIEW_SUBTYPE, AppContext, SessionTake, UserSession
from sda.audio.io import write_audio
from sda.dna.take import Take as DecodedTake
from sda.generate.loop_length import LoopError, LoopLength, loop_length
from sda.generate.settings import MAX_SEED, GenerationError, checked_controls
from sda.generate.settings import GenerationSettings as SharedSettings

if TYPE_CHECKING:
    from sda.generate.loop import Loop

Report = Callable[[float, str], None]


GenerateError = AppError  # the explorer's one error (sda.app.errors), by this tab's older name


@dataclass
class GenerationSettings:
    """The Generate tab's form: the shared `sda.generate.GenerationSettings` plus how many takes.

    The rules (and their messages) are the shared ones; the app adds only its own limits on
    duration and count. `controls` holds only the controls the user switched on."""

    seconds: float = 4.0
    seed: int = 0
    temperature: float = 1.0
    top_k: int = 0  # 0 = no top-k filtering
    # what `sda generate` uses with no control set; ticking one sets them as the CLI would
    # (sda.generate.sampling_defaults), and a preset keeps what it was saved with
    guidance: float = 1.0
    candidates: int = 1  # used only when some control is ticked (sda.generate.particles)
    count: int = 1
    # a number, or [start, ..., end] for a control that moves over the take (sda.generate.curves)
    controls: dict[str, float | list[float]] = field(default_factory=dict)
    # Added later: a preset saved before them loads with these defaults (off).
    loop: bool = False  # a seamless loop: its end flows into its start (sda.generate.loop)
    bars: float = 0.0  # a loop of this many bars at `bpm`; 0: a loop `seconds` long
    bpm: float = 120.0
    beats_per_bar: int = 4
    # stereo width 0..1 (sda.audio.stereo_field), 0 = mono; a stereo model's takes scale their own
    # side (0.5 = as generated); None: the model's own (0 for a mono model, 0.5 for a stereo one)
    width: float | None = None
    movement: float = 0.0  # stereo movement 0..1 (a slow auto-pan), 0 = still

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSettings:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        known.setdefault("width", 0.0)  # saved before stereo width existed: off, as it was
        settings = cls(**known)
        settings.controls = _shared(lambda: checked_controls(settings.controls))
        return settings

    def rules(self, seed: int | None = None) -> SharedSettings:
        """These settings as the shared, checked ones (for take seed `seed`), or `GenerateError`."""
        return _shared(
            lambda: SharedSettings(
                seconds=self.seconds,
                seed=self.seed if seed is None else seed,
                temperature=self.temperature,
                top_k=self.top_k,
                guidance=self.guidance,
                candidates=self.candidates,
                controls=self.controls,
            )  # fmt: skip
        )

    def loop_length(
        self, sample_rate: int = 48_000, samples_per_frame: int = 1
    ) -> LoopLength | None:
        """The loop's length for a codec of `sample_rate` and `samples_per_frame` (None: not a
        loop; the defaults check tempo, bars and length without a model), or `GenerateError`."""
        if not self.loop:
            return None
        tempo = bool(self.bars)  # 0 or empty: the loop lasts `seconds`
        beats = self.beats_per_bar  # a number box gives 4.0: a whole number all the same
        if isinstance(beats, float) and beats.is_integer():
            beats = int(beats)
        try:
            return loop_length(
                sample_rate=sample_rate,
                samples_per_frame=samples_per_frame,
                seconds=None if tempo else self.seconds,
                bars=self.bars if tempo else None,
                bpm=self.bpm if tempo else None,
                beats_per_bar=beats,
            )
        except LoopError as error:  # the loop's words, without the command line's dashes
            raise GenerateError(str(error).replace("--", "")) from None

    def checked(self, ctx: AppContext) -> GenerationSettings:
        """Validated copy: the shared rules, then the app's limits on duration and count."""
        if self.seed is None:
            self.seed = 0
        width = None if self.width is None else _stereo("width", self.width)
        movement = _stereo("movement", self.movement)
        length = self.loop_length()
        fitted = length is not None and bool(self.bars)  # a tempo-fitted loop's own length
        seconds = length.seconds if fitted else self.seconds
        if isinstance(seconds, int | float) and seconds > ctx.max_seconds:
            raise GenerateError(
                f"duration must be at most {ctx.max_seconds:g} seconds in the explorer; "
                "`sda generate` makes longer takes"
            )
        shared = replace(self, seconds=seconds).rules()
        if not 1 <= int(self.count) <= ctx.max_count:
            raise GenerateError(f"count must be between 1 and {ctx.max_count}")
        self.rules(seed=shared.seed + int(self.count) - 1)  # the last take's seed too
        return GenerationSettings(
            seconds=shared.seconds,
            seed=shared.seed,
            temperature=shared.temperature,
            top_k=shared.top_k or 0,
            guidance=shared.guidance,
            candidates=shared.candidates,
            count=int(self.count),
            controls=dict(shared.controls),
            loop=bool(self.loop),
            bars=float(self.bars or 0),
            bpm=float(self.bpm or 0),
            beats_per_bar=int(self.beats_per_bar or 4),
            width=width,
            movement=movement,
        )


def _stereo(name: str, value: Any) -> float:
    """A width or movement from 0 to 1, or `GenerateError`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise GenerateError(f"stereo {name} must be from 0 to 1, got {value!r}")
    return number


def _shared(make: Callable[[], Any]) -> Any:
    """`make()`, its `GenerationError` raised as this layer's `GenerateError` with the same words."""
    try:
        return make()
    except GenerationError as error:
        raise GenerateError(str(error)) from None


def is_stereo_model(ctx: AppContext, model: str | None) -> bool:
    """Whether the picked model was trained on stereo (its takes have a side of their own)."""
    from sda.errors import SdaError

    try:
        return bool(model) and int(getattr(ctx.models.get(model), "channels", 1)) == 2
    except (SdaError, KeyError, TypeError, ValueError):  # no such model: the pick says so later
        return False


def model_width(stereo: bool, width: float | None) -> float:
    """The width a take gets: as set, or the model's own (0 = mono for a mono model, 0.5 = the
    side as generated for a stereo model)."""
    from sda.audio.stereo_field import AS_GENERATED

    return (AS_GENERATED if stereo else 0.0) if width is None else float(width)


def width_label(ctx: AppContext, model: str | None, width: float | None) -> str:
    """The physical value of the width slider: for a stereo model, the share of its own side."""
    from sda.audio.stereo_field import describe_model_width, describe_width

    stereo = is_stereo_model(ctx, model)
    value = model_width(stereo, width)
    return describe_model_width(value) if stereo else describe_width(value)


def format_control(name: str, value: float | list[float]) -> str:
    """ "brightness 0.70", or "density 0.10 → 0.90" for a curve."""
    points = value if isinstance(value, list) else [value]
    return f"{name} " + " → ".join(f"{float(point):.2f}" for point in points)


WEAK_LABEL = " · moves little with this model (its codec keeps it poorly)"


def control_units(ctx: AppContext, model: str | None, values: dict[str, float]) -> list[str]:
    """What each control's slider asks for with this model, in the material's own units
    ("≈ 2.3 onsets/s", "≈ -25 dBFS RMS"); blank while no model with a prior is picked."""
    from sda.audio.control_fidelity import weak_controls
    from sda.errors import SdaError
    from sda.generate.control_units import physical_value
    from sda.generate.steering import bundle_stats, stats_record

    try:
        bundle = ctx.models.get(model) if model else None
        stats = bundle_stats(bundle) if bundle is not None else None
    except (SdaError, KeyError, TypeError, ValueError):  # no such model, or stats it cannot read
        stats = None
    if stats is None:
        return ["" for _ in values]
    weak = weak_controls(stats_record(bundle))
    return [
        physical_value(name, float(value), stats) + (WEAK_LABEL if name in weak else "")
        for name, value in values.items()
    ]


def sampling_for(ctx: AppContext, model: str | None, controls: dict) -> tuple[float, int]:
    """(guidance, candidates) `sda generate` picks for `controls` with the picked model, whose
    prior may have measured that one take follows tension (`sda.generate.sampling_defaults`)."""
    from sda.errors import SdaError
    from sda.generate.sampling_defaults import sampling_defaults
    from sda.generate.steering import stats_record

    try:
        bundle = ctx.models.get(model) if model else None
    except (SdaError, KeyError, TypeError, ValueError):  # no such model: the pick says so later
        bundle = None
    return sampling_defaults(controls, stats_record(bundle))


def model_names(ctx: AppContext) -> list[str]:
    """Names of the library's bundles, for the model pickers."""
    return [entry_name(entry) for entry in ctx.library.list()]


def default_model(ctx: AppContext, current: str | None) -> str | None:
    """Keep the current pick if it is still in the library, else the first model that generates."""
    entries = list(ctx.library.list())
    names = [entry.name for entry in entries]
    if current in names:
        return current
    able = [entry.name for entry in entries if entry.has_prior]
    return (able or names or [None])[0]


def entry_name(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        return str(entry["name"])
    return str(entry.name)


def has_prior(ctx: AppContext, model: str) -> bool:
    return ctx.models.get(model).prior is not None


def random_seed() -> int:
    """A fresh seed for the dice button (not cryptographic; just a new take)."""
    return random.randrange(0, MAX_SEED - 64)  # room for seed+1, ... of the other takes


def seed_for_generate(seed: Any, locked: bool) -> int:
    """The seed a Generate press uses: the one shown when it is locked, else a fresh one, so
    every press makes new takes (the seed used is shown and can be locked to make it again)."""
    if locked:
        try:
            return int(seed or 0)
        except (TypeError, ValueError):
            raise GenerateError(f"seed must be a whole number, got {seed!r}") from None
    return random_seed()


def generate_takes(
    ctx: AppContext,
    session: UserSession,
    model: str | None,
    settings: GenerationSettings,
    *,
    report: Report | None = None,
) -> list[SessionTake]:
    """Generate `settings.count` takes (seeds seed, seed+1, ...) and add them to the session.

    Each take keeps the decoder's float audio; its file is a float WAV preview for the players
    (in stereo when the settings spread it: exports spread the take the same way). With
    `settings.loop` each take is a seamless loop. A stereo model's takes are (2, samples), their
    width scales the model's own side (the width kept with the take is the one used).
    """
    if not model:
        raise GenerateError("pick a model first (Library tab lists them)")
    settings = settings.checked(ctx)
    bundle = ctx.models.get(model)
    if bundle.prior is None:
        raise GenerateError(
            f"model {model!r} has no prior, so it cannot generate; "
            "train one with `sda-train-prior` or use the DNA tab to edit encoded sounds"
        )
    config = bundle.codec.config
    settings = replace(settings, width=model_width(config.channels == 2, settings.width))
    length = settings.loop_length(int(config.sample_rate), int(config.samples_per_frame))
    takes = []
    for index in range(settings.count):
        seed = settings.seed + index
        if length is None:
            made = _generate_one(bundle, settings, seed, index, report)
        else:
            made = _loop_one(bundle, settings, seed, index, length, report)
        path = session.new_file(ctx, f"take-{len(session.takes) + 1}")
        preview = _preview(made.audio, made.sample_rate, settings)
        write_audio(path, preview, made.sample_rate, subtype=PREVIEW_SUBTYPE)
        take = SessionTake(
            number=_next_number(session),
            model=model,
            path=path,
            audio=made.audio,
            sample_rate=made.sample_rate,
            settings={**settings.to_dict(), "seed": seed, "count": 1},
            codes=made.codes,
            loop_seconds=None if length is None else length.exact_seconds,
        )
        session.add_take(take, memory_bytes=ctx.take_memory_bytes)
        takes.append(take)
    return_freed_memory()  # what the decoder and released takes used goes back to the system
    if report is not None:
        report(1.0, "done")
    return takes


def _generate_one(
    bundle: Any, settings: GenerationSettings, seed: int, index: int, report: Report | None
) -> DecodedTake:
    """Take `index` of `settings.count`, decoded once and at its level, with progress reports."""
    import torch

    from sda.generate import generate

    def frames_done(done: int, total: int) -> None:
        if report is not None:
            fraction = (index + done / max(total, 1)) / settings.count
            report(fraction, f"take {index + 1} of {settings.count} (seed {seed})")

    frames_done(0, 1)
    with torch.inference_mode():
        return generate(bundle, on_progress=frames_done, **settings.rules(seed).to_dict())


def _loop_one(
    bundle: Any,
    settings: GenerationSettings,
    seed: int,
    index: int,
    length: LoopLength,
    report: Report | None,
) -> Loop:
    """Loop `index` of `settings.count`: a new take made seamless (`sda.generate.loop`)."""
    import torch

    from sda.generate.loop import generate_loop

    if report is not None:
        report(index / settings.count, f"loop {index + 1} of {settings.count} (seed {seed})")
    sampling = {k: v for k, v in settings.rules(seed).to_dict().items() if k != "seconds"}
    with torch.inference_mode():
        return generate_loop(bundle, length, **sampling)


def _preview(audio: np.ndarray, rate: int, settings: GenerationSettings) -> np.ndarray:
    """What the players play: the take, spread to stereo as its export will be (or as it is);
    a stereo model's take (2, samples) with its own side scaled by the width."""
    from sda.audio.stereo_field import AS_GENERATED, model_field, stereo_field

    width = model_width(audio.ndim == 2, settings.width)
    if audio.ndim == 2:
        if width == AS_GENERATED and not settings.movement:
            return audio  # (2, samples): the decoder's samples exactly
        return model_field(audio, rate, width=width, movement=settings.movement, loop=settings.loop)
    if not (width or settings.movement):
        return audio  # (samples,): the decoder's samples exactly
    return stereo_field(
        audio, rate, width=width, movement=settings.movement, loop=settings.loop
    )  # (2, samples)


def _next_number(session: UserSession) -> int:
    return max((take.number for take in session.takes), default=0) + 1


TAKE_COLUMNS = ["#", "model", "seconds", "seed", "temperature", "top-k", "guidance", "controls"]


def take_rows(session: UserSession) -> list[list[Any]]:
    """The history table: newest first, one row per take with the settings that made it."""
    rows = []
    for take in reversed(session.takes):
        s = take.settings
        controls = s.get("controls", {})
        controls = ", ".join(format_control(k, v) for k, v in controls.items()) or "free"
        controls = " · ".join([controls, *_loop_and_stereo(s)])
        rows.append(
            [
                take.number,
                take.model,
                round(take.seconds, 2),
                s.get("seed", ""),
                s.get("temperature", ""),
                s.get("top_k") or "off",
                s.get("guidance", ""),
                controls,
            ]
        )
    return rows


def _loop_and_stereo(settings: dict[str, Any]) -> list[str]:
    """ "loop 2 bars at 96 bpm", "width 0.50", "movement 0.25": what is set, for the history."""
    shown = []
    if settings.get("loop"):
        bars = settings.get("bars") or 0
        plural = "" if bars == 1 else "s"
        shown.append(
            f"loop {bars:g} bar{plural} at {settings.get('bpm'):g} bpm" if bars else "loop"
        )
    for name in ("width", "movement"):
        if settings.get(name):
            shown.append(f"{name} {float(settings[name]):.2f}")
    return shown


def take_choices(session: UserSession) -> list[tuple[str, str]]:
    """(label, value) pairs for take pickers, newest first; value is the take number as text."""
    return [(take.label, str(take.number)) for take in reversed(session.takes)]


def take_path(session: UserSession, number: str | int | None) -> str | None:
    take = session.take(number)
    return str(take.path) if take is not None else None


def settings_from_take(session: UserSession, number: str | int | None) -> GenerationSettings:
    """The settings of a past take, to load them back into the sliders."""
    take = session.take(number)
    if take is None:
        raise GenerateError("pick a take from the history first")
    return GenerationSettings.from_dict(take.settings)


def save_preset(ctx: AppContext, model: str | None, name: str, settings: GenerationSettings) -> str:
    if not model:
        raise GenerateError("pick a model first: presets are stored per model")
    data = settings.to_dict()
    data.pop("seed", None)  # a preset is a sound character, not one particular take
    return ctx.presets.save(ctx.models.key(model), name, data)


def preset_names(ctx: AppContext, model: str | None) -> list[str]:
    if not model:
        return []
    return ctx.presets.names(ctx.models.key(model))


def recall_preset(
    ctx: AppContext, model: str | None, name: str | None, current: GenerationSettings
) -> GenerationSettings:
    """The current settings with a stored preset applied (the seed is kept)."""
    if not model or not name:
        raise GenerateError("pick a model and a preset first")
    data = ctx.presets.load(ctx.models.key(model), name)
    return GenerationSettings.from_dict({**current.to_dict(), **data, "seed": current.seed})


def delete_preset(ctx: AppContext, model: str | None, name: str | None) -> None:
    if not model or not name:
        raise GenerateError("pick a model and a preset first")
    ctx.presets.delete(ctx.models.key(model), name)
