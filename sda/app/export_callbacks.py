"""Export panel logic: turn a take or the DNA editor's result into a tagged file to download."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sda.app.errors import AppError
from sda.app.state import AppContext, UserSession
from sda.audio import export_settings as shared

FORMATS = ("wav", "flac", "ogg", "mp3")  # the menu; the rules are `sda.audio.export_settings`
SAMPLE_RATES = shared.SAMPLE_RATES
BIT_DEPTHS = {name: shared.FORMATS[name].bit_depths for name in FORMATS}
CHANNELS = shared.CHANNEL_LAYOUTS
EDITOR_SOURCE = "dna"  # the export source value meaning "the DNA editor's last decode"


@dataclass
class ExportSettings:
    """The export panel's form: the shared `ExportSettings` plus the tags a person typed.

    `bit_depth` counts only for lossless formats (the panel hides it for the others)."""

    format: str = "wav"
    sample_rate: int = 48_000
    bit_depth: int = 24
    channels: str = "mono"
    azimuth: float = 0.0
    lufs: float | None = None  # None = keep the level as generated
    title: str = ""
    artist: str = ""
    comment: str = ""

    def sound(self) -> shared.ExportSettings:
        """The shared, checked sound settings, or `AppError` in the shared words."""
        spec = shared.FORMATS.get(str(self.format or "").lower().lstrip("."))
        lossless = spec is not None and spec.lossless
        try:
            return shared.ExportSettings(
                format=self.format or "",
                sample_rate=int(self.sample_rate),
                bit_depth=(int(self.bit_depth) if self.bit_depth else None) if lossless else None,
                channels=self.channels,
                azimuth=float(self.azimuth),
                lufs=None if self.lufs is None else float(self.lufs),
            )
        except shared.ExportError as error:
            raise AppError(str(error)) from None

    def checked(self) -> ExportSettings:
        sound = self.sound()
        return ExportSettings(
            format=sound.format,
            sample_rate=sound.sample_rate,
            bit_depth=sound.bit_depth or 24,
            channels=sound.channels,
            azimuth=sound.azimuth,
            lufs=sound.lufs,
            title=(self.title or "").strip()[:200],
            artist=(self.artist or "").strip()[:200],
            comment=(self.comment or "").strip()[:2000],
        )


def bit_depth_choices(fmt: str) -> list[int]:
    """Bit depths the format offers (empty for lossy formats, whose depth is not a choice)."""
    return list(BIT_DEPTHS.get((fmt or "").lower(), ()))


def sample_rate_choices(fmt: str) -> list[int]:
    """Sample rates the format can write (MP3 stops at 48 kHz), as `sda.audio.export_settings`
    says; every rate for a name it does not know (the export then names the problem)."""
    spec = shared.FORMATS.get((fmt or "").lower())
    return [rate for rate in SAMPLE_RATES if spec is None or rate in spec.rates]


def rate_label(rate: int) -> str:
    return f"{rate / 1000:g} kHz"


def kept_choice(current: Any, choices: list[int], preferred: int) -> int | None:
    """The current pick if the new menu still has it, else `preferred`, else the first one."""
    try:
        if int(current) in choices:
            return int(current)
    except (TypeError, ValueError):
        pass
    return preferred if preferred in choices else (choices[0] if choices else None)


def export_source(
    ctx: AppContext, session: UserSession, source: str | None, settings: ExportSettings
) -> Path:
    """Write the chosen take (its number) or the editor result (`EDITOR_SOURCE`) as a file,
    from the decoder's float audio, at the bit depth asked for. A take keeps its stereo field
    (width, movement: a mono layout becomes stereo), and a loop take its loop points. A stereo
    model's take (or stereo editor result) exports as stereo in the mono layout too, its own
    side scaled by the take's width; width 0 (mono) lets the mono layout mix it down."""
    from sda.audio.export import export_audio

    settings = settings.checked()
    sound = settings.sound()
    audio, rate, name, tags = _describe_source(session, source)  # (samples,) or (2, samples)
    render = _take_render(session, source)
    if audio.ndim == 2:
        audio, render = _stereo_take(audio, rate, render)
        if sound.channels == "mono" and render.pop("stereo"):
            sound = replace(sound, channels="stereo")
    if settings.title:
        tags["title"] = settings.title
    if settings.artist:
        tags["artist"] = settings.artist
    if settings.comment:
        tags["comment"] = f"{settings.comment}\n{tags.get('comment', '')}".strip()
    folder = session.folder(ctx) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    session.counter += 1
    target = folder / f"{_safe_stem(name)}-{session.counter:03d}.{settings.format}"
    written = export_audio(
        audio, target, sample_rate_in=rate, tags=tags, overwrite=True,
        **{**sound.to_dict(), **render},
    )  # fmt: skip
    return Path(written)


def _stereo_take(
    audio: np.ndarray, rate: int, render: dict[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """A stereo take (2, samples) with its width and movement applied to its own side
    (`model_field`), and what is left for `export_audio`: the loop length, and "stereo" (whether
    the take still has a side to keep)."""
    from sda.audio.stereo_field import AS_GENERATED, model_field

    width = float(render.pop("width", AS_GENERATED))
    movement = float(render.pop("movement", 0.0))
    if width != AS_GENERATED or movement:
        looped = render.get("loop_seconds") is not None
        audio = model_field(audio, rate, width=width, movement=movement, loop=looped)
    return audio, {**render, "stereo": bool(width or movement)}


def _describe_source(
    session: UserSession, source: str | None
) -> tuple[np.ndarray, int, str, dict[str, Any]]:
    """The float audio (samples,), its rate, a file name stem and default tags of a source."""
    if source == EDITOR_SOURCE:
        decoded = session.decoded_take
        if decoded is None:
            raise AppError("decode something in the DNA editor first, then export it")
        editor = session.editor
        label = editor.labels.get("A", "slot A")
        operations = decoded.provenance.get("operations", [])
        tags = {
            "title": f"DNA edit of {label}",
            "album": editor.model or "",
            "comment": "operations " + json.dumps([op.get("op") for op in operations]),
            "sources": decoded.provenance.get("sources", []),
        }
        return decoded.audio, decoded.sample_rate, f"dna-{Path(label).stem}", tags
    take = session.take(source)
    if take is None:
        raise AppError("pick a take to export (generate one first)")
    from sda.audio.tags import describe

    seed = take.settings.get("seed")
    settings = {k: v for k, v in take.settings.items() if k not in ("seed", "count")}
    tags = {
        "title": f"{take.model} take {take.number}",
        "album": take.model,
        "comment": describe(seed=seed, settings=settings),
        "seed": seed,
        "settings": settings,
    }
    stem = f"{take.model}-take{take.number}-seed{take.settings.get('seed')}"
    return take.load_audio(), take.sample_rate, stem, tags


def _take_render(session: UserSession, source: str | None) -> dict[str, Any]:
    """How a take is rendered at export: its stereo field, and its length if it is a loop
    (`export_audio`'s keywords; a width of 0 leaves the layout's own; a stereo take's width is
    kept as set, 0 included: it scales the model's own side)."""
    take = None if source == EDITOR_SOURCE else session.take(source)
    if take is None:
        return {}
    given = take.settings.get("width")
    width = float(given or 0.0)
    render: dict[str, Any] = {"movement": float(take.settings.get("movement") or 0.0)}
    if width > 0 or (given is not None and _is_stereo(take)):
        render["width"] = width
    if take.loop_seconds is not None:
        render["loop_seconds"] = take.loop_seconds
    return render


def _is_stereo(take: Any) -> bool:
    """Whether a session take came from a stereo model (its codes have a side grid)."""
    codes = getattr(take, "codes", None)
    return codes is not None and getattr(codes, "channels", 1) == 2


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return stem[:80] or "sda"
