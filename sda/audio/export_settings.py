"""`ExportSettings`: what an exported file is (format, rate, bit depth, layout, loudness), with the
one set of limits the CLI, the app and `export_audio` use, so a setting is refused in the same
words everywhere. Front ends may offer fewer choices (the app's menus); never more.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sda.errors import SdaError

SAMPLE_RATES = (44_100, 48_000, 88_200, 96_000)
CHANNEL_LAYOUTS = ("mono", "stereo", "binaural")
LUFS_RANGE = (-70.0, 0.0)
DEFAULT_STEREO_WIDTH = 0.5  # a mono take in the stereo layout, width unset: L/R correlation 0.5


class ExportError(SdaError):
    """An export that cannot be done as asked; nothing is left on disk."""


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extension: str
    container: str  # soundfile format
    subtypes: dict  # bit depth (None for lossy) -> soundfile subtype
    rates: tuple[int, ...] = SAMPLE_RATES
    compression: float | None = None  # soundfile compression_level for lossy codecs (0 = best)

    @property
    def lossless(self) -> bool:
        return None not in self.subtypes

    @property
    def bit_depths(self) -> tuple[int, ...]:
        """The bit depths on offer (none for lossy formats); 32 is float."""
        return tuple(depth for depth in self.subtypes if depth is not None)


FORMATS = {
    f.name: f
    for f in (
        AudioFormat("wav", ".wav", "WAV", {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}),
        AudioFormat("flac", ".flac", "FLAC", {16: "PCM_16", 24: "PCM_24"}),
        AudioFormat("ogg", ".ogg", "OGG", {None: "VORBIS"}, compression=0.3),
        AudioFormat("opus", ".opus", "OGG", {None: "OPUS"}, rates=(48_000,), compression=0.5),
        # MPEG-1 Layer III stops at 48 kHz.
        AudioFormat("mp3", ".mp3", "MP3", {None: "MPEG_LAYER_III"}, (44_100, 48_000), 0.1),
    )
}


@dataclass(frozen=True)
class ExportSettings:
    """An export's sound settings, checked when made (`ExportError` names the first bad one).

    `bit_depth` None means 24 for wav/flac; lossy formats take none. `azimuth` is in degrees
    clockwise, +90 = right; `lufs` None keeps the level as it is. `width` and `movement` (0..1)
    spread a mono take to stereo and move it (`sda.audio.stereo_field`, width = side/mid energy
    width / (2 - width)); either above 0 makes a mono layout stereo. `width` None is the layout's
    own: 0 for mono, `DEFAULT_STEREO_WIDTH` for stereo.
    """

    format: str = "wav"
    sample_rate: int = 48_000
    bit_depth: int | None = None
    channels: str = "mono"
    azimuth: float = 0.0
    lufs: float | None = None
    width: float | None = None
    movement: float = 0.0

    def __post_init__(self) -> None:
        spec = FORMATS.get(str(self.format).lower().lstrip("."))
        if spec is None:
            raise ExportError(
                f"Unknown format {self.format!r}: choose one of {', '.join(FORMATS)}."
            )
        object.__setattr__(self, "format", spec.name)
        object.__setattr__(self, "bit_depth", _bit_depth(spec, self.bit_depth))
        if self.sample_rate not in spec.rates:
            rates = ", ".join(str(r) for r in spec.rates)
            raise ExportError(
                f"{spec.name} cannot be written at {self.sample_rate} Hz: use {rates}."
            )
        if self.channels not in CHANNEL_LAYOUTS:
            raise ExportError(
                f"Unknown channel layout {self.channels!r}: use {', '.join(CHANNEL_LAYOUTS)}."
            )
        if not (math.isfinite(float(self.azimuth)) and -180.0 <= float(self.azimuth) <= 180.0):
            raise ExportError(f"Azimuth {self.azimuth} is out of range: use -180 to 180 degrees.")
        for name in ("width", "movement"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _stereo_setting(name, value))
        if self.channels == "mono" and (self.width or self.movement):
            object.__setattr__(self, "channels", "stereo")  # they are stereo settings
        low, high = LUFS_RANGE
        if self.lufs is not None and not low <= float(self.lufs) <= high:
            raise ExportError(
                f"Loudness target {self.lufs} LUFS is out of range: use {low:g} to {high:g} "
                "(e.g. -14)."
            )

    @property
    def spec(self) -> AudioFormat:
        return FORMATS[self.format]

    @property
    def subtype(self) -> str:
        """soundfile's subtype for this format and bit depth."""
        return self.spec.subtypes[self.bit_depth]

    def to_dict(self) -> dict[str, Any]:
        """Plain values; also `sda.audio.export.export_audio`'s keywords."""
        return asdict(self)


def _stereo_setting(name: str, value: Any) -> float:
    """A width or movement as a float from 0 to 1, or `ExportError` in the stereo field's words."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ExportError(f"Stereo {name} {value!r} is out of range: use a value from 0 to 1.")
    return number


def _bit_depth(spec: AudioFormat, bit_depth: int | None) -> int | None:
    """The checked bit depth: 24 by default for lossless formats, None for lossy ones."""
    if not spec.lossless:
        if bit_depth is not None:
            raise ExportError(
                f"{spec.name} is lossy and has no bit depth: leave it unset or use wav/flac."
            )
        return None
    bit_depth = 24 if bit_depth is None else bit_depth
    if bit_depth not in spec.subtypes:
        depths = ", ".join(str(d) for d in spec.bit_depths)
        raise ExportError(f"{spec.name} cannot store {bit_depth}-bit audio: use {depths}.")
    return int(bit_depth)
