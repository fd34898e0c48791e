"""Export panel logic: turn a take or the DNA editor's result into a tagged file to download."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sda.app.state import AppContext, UserSession
from sda.errors import SdaError

FORMATS = ("wav", "flac", "ogg", "mp3")
SAMPLE_RATES = (44_100, 48_000, 88_200, 96_000)
BIT_DEPTHS = {"wav": (16, 24, 32), "flac": (16, 24), "ogg": (), "mp3": ()}
CHANNELS = ("mono", "stereo", "binaural")
EDITOR_SOURCE = "dna"  # the export source value meaning "the DNA editor's last decode"


class ExportPanelError(SdaError):
    """Nothing to export, or export settings that do not fit together."""


@dataclass
class ExportSettings:
    format: str = "wav"
    sample_rate: int = 48_000
    bit_depth: int = 24
    channels: str = "mono"
    azimuth: float = 0.0
    lufs: float | None = None  # None = keep the level as generated
    title: str = ""
    artist: str = ""
    comment: str = ""

    def checked(self) -> ExportSettings:
        fmt = (self.format or "").lower()
        if fmt not in FORMATS:
            raise ExportPanelError(
                f"unknown format {self.format!r}; pick one of {', '.join(FORMATS)}"
            )
        rate = int(self.sample_rate)
        if rate not in SAMPLE_RATES:
            raise ExportPanelError(
                f"sample rate {rate} Hz is not offered; pick 44.1, 48, 88.2 or 96 kHz"
            )
        depths = BIT_DEPTHS[fmt]
        depth = int(self.bit_depth) if self.bit_depth else 24
        if depths and depth not in depths:
            raise ExportPanelError(
                f"{fmt.upper()} supports {', '.join(map(str, depths))}-bit, not {depth}-bit"
            )
        if self.channels not in CHANNELS:
            raise ExportPanelError(f"channels must be one of {', '.join(CHANNELS)}")
        if not -180.0 <= float(self.azimuth) <= 180.0:
            raise ExportPanelError("azimuth must lie between -180 and 180 degrees")
        if self.lufs is not None and not -60.0 <= float(self.lufs) <= 0.0:
            raise ExportPanelError("loudness target must lie between -60 and 0 LUFS")
        return ExportSettings(
            format=fmt,
            sample_rate=rate,
            bit_depth=depth,
            channels=self.channels,
            azimuth=float(self.azimuth),
            lufs=None if self.lufs is None else float(self.lufs),
            title=(self.title or "").strip()[:200],
            artist=(self.artist or "").strip()[:200],
            comment=(self.comment or "").strip()[:2000],
        )


def bit_depth_choices(fmt: str) -> list[int]:
    """Bit depths the format offers (empty for lossy formats, whose depth is not a choice)."""
    return list(BIT_DEPTHS.get((fmt or "").lower(), ()))


def export_source(
    ctx: AppContext, session: UserSession, source: str | None, settings: ExportSettings
) -> Path:
    """Write the chosen take (its number) or the editor result (`EDITOR_SOURCE`) as a file."""
    from sda.audio.export import export_audio
    from sda.audio.io import load_audio_with_rate

    settings = settings.checked()
    audio_path, name, tags = _describe_source(session, source)
    audio, rate = load_audio_with_rate(audio_path)  # (channels, samples)
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
        audio,
        target,
        sample_rate_in=rate,
        format=settings.format,
        sample_rate=settings.sample_rate,
        bit_depth=settings.bit_depth if BIT_DEPTHS[settings.format] else None,
        channels=settings.channels,
        azimuth=settings.azimuth,
        tags=tags,
        lufs=settings.lufs,
        overwrite=True,
    )
    return Path(written)


def _describe_source(session: UserSession, source: str | None) -> tuple[Path, str, dict[str, Any]]:
    """The audio file, a file name stem and default tags for an export source."""
    if source == EDITOR_SOURCE:
        if session.decoded is None or not Path(session.decoded).exists():
            raise ExportPanelError("decode something in the DNA editor first, then export it")
        editor = session.editor
        codes = editor.slot("A")
        label = editor.labels.get("A", "slot A")
        operations = codes.provenance.get("operations", []) if codes is not None else []
        tags = {
            "title": f"DNA edit of {label}",
            "album": editor.model or "",
            "comment": "operations " + json.dumps([op.get("op") for op in operations]),
            "sources": codes.provenance.get("sources", []) if codes is not None else [],
        }
        return Path(session.decoded), f"dna-{Path(label).stem}", tags
    take = session.take(source)
    if take is None:
        raise ExportPanelError("pick a take to export (generate one first)")
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
    return take.path, f"{take.model}-take{take.number}-seed{take.settings.get('seed')}", tags


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return stem[:80] or "sda"
