"""Generate tab logic as plain functions: settings in, takes out (no Gradio, testable directly)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sda.app.errors import AppError
from sda.app.state import PREVIEW_SUBTYPE, AppContext, SessionTake, UserSession
from sda.audio.io import write_audio
from sda.dna.take import Take as DecodedTake
from sda.generate.settings import GenerationError, checked_controls
from sda.generate.settings import GenerationSettings as SharedSettings

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
    guidance: float = 3.0
    candidates: int = 4  # used only when some control is ticked (sda.generate.steering)
    count: int = 1
    # a number, or [start, ..., end] for a control that moves over the take (sda.generate.curves)
    controls: dict[str, float | list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSettings:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
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

    def checked(self, ctx: AppContext) -> GenerationSettings:
        """Validated copy: the shared rules, then the app's limits on duration and count."""
        if self.seed is None:
            self.seed = 0
        if isinstance(self.seconds, int | float) and self.seconds > ctx.max_seconds:
            raise GenerateError(
                f"duration must be at most {ctx.max_seconds:g} seconds in the explorer; "
                "`sda generate` makes longer takes"
            )
        shared = self.rules()
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
        )


def _shared(make: Callable[[], Any]) -> Any:
    """`make()`, its `GenerationError` raised as this layer's `GenerateError` with the same words."""
    try:
        return make()
    except GenerationError as error:
        raise GenerateError(str(error)) from None


def format_control(name: str, value: float | list[float]) -> str:
    """ "brightness 0.70", or "density 0.10 → 0.90" for a curve."""
    points = value if isinstance(value, list) else [value]
    return f"{name} " + " → ".join(f"{float(point):.2f}" for point in points)


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
    return random.randrange(0, 2**31)


def generate_takes(
    ctx: AppContext,
    session: UserSession,
    model: str | None,
    settings: GenerationSettings,
    *,
    report: Report | None = None,
) -> list[SessionTake]:
    """Generate `settings.count` takes (seeds seed, seed+1, ...) and add them to the session.

    Each take keeps the decoder's float audio; its file is a float WAV preview for the players.
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
    takes = []
    for index in range(settings.count):
        seed = settings.seed + index
        made = _generate_one(bundle, settings, seed, index, report)
        path = session.new_file(ctx, f"take-{len(session.takes) + 1}")
        write_audio(path, made.audio, made.sample_rate, subtype=PREVIEW_SUBTYPE)
        take = SessionTake(
            number=_next_number(session),
            model=model,
            path=path,
            audio=made.audio,
            sample_rate=made.sample_rate,
            settings={**settings.to_dict(), "seed": seed, "count": 1},
            codes=made.codes,
        )
        session.takes.append(take)
        takes.append(take)
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
