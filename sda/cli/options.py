"""What the command modules share: the options every command spells the same way, the CLI's one
error class, how decoded audio is written, and opening the MODEL argument.

Imports nothing heavy at module level, so `sda --help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sda.errors import SdaError

if TYPE_CHECKING:
    import numpy as np

    from sda.library import Bundle

MODEL_HELP = "Model: a library name, or a bundle / training-run folder."

ModelArgument = Annotated[str, typer.Argument(help=MODEL_HELP)]
ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
LibraryOption = Annotated[
    Path | None,
    typer.Option("--library", help="Model library folder (default: $SDA_LIBRARY or user data)."),
]
OutDirOption = Annotated[
    Path, typer.Option("--out-dir", "-o", help="Folder for the outputs (created if needed).")
]
DeviceOption = Annotated[
    str, typer.Option("--device", help="Where the model runs: cpu, cuda or mps.")
]
LevelsOption = Annotated[
    int | None,
    typer.Option(
        "--levels", "-k", help="Decode with only the first K code levels (coarse sketch)."
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace outputs that already exist.")
]
FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Audio format: wav, flac, ogg, opus or mp3.")
]
RateOption = Annotated[
    int, typer.Option("--rate", help="Output sample rate in Hz (44100, 48000, 88200, 96000).")
]
BitDepthOption = Annotated[
    int | None, typer.Option("--bit-depth", help="16, 24 or 32 (float) for wav/flac; default 24.")
]
ChannelsOption = Annotated[str, typer.Option("--channels", help="mono, stereo or binaural.")]
AzimuthOption = Annotated[
    float, typer.Option("--azimuth", help="Direction in degrees, +90 = right (stereo / binaural).")
]
LufsOption = Annotated[
    float | None, typer.Option("--lufs", help="Normalise loudness to this LUFS, e.g. -14.")
]


class CommandError(SdaError):
    """A command that cannot run as asked: options that cannot work together, or a batch in which
    some files failed (the message names the option or the files)."""


def load_model(model: str, library: Path | None = None, device: str = "cpu") -> Bundle:
    """The MODEL argument opened: a library name (in --library), a bundle or a training run."""
    from sda.library import Library, open_model

    return open_model(model, Library(library) if library is not None else None, device=device)


@dataclass
class AudioOutput:
    """How decoded audio is written: the export options shared by decode, reconstruct, generate."""

    format: str = "wav"
    rate: int = 48_000
    bit_depth: int | None = None
    channels: str = "mono"
    azimuth: float = 0.0
    lufs: float | None = None
    overwrite: bool = False

    def check(self) -> str:
        """Refuse impossible settings before any file is processed; return the file extension."""
        from sda.audio.export_settings import FORMATS, ExportError, ExportSettings

        spec = FORMATS.get(self.format.lower().lstrip("."))
        if spec is None:  # named as the option the musician typed
            raise CommandError(
                f"unknown --format {self.format!r}; choose one of {', '.join(FORMATS)}"
            )
        try:  # every other rule lives once, in ExportSettings (the app checks the same)
            ExportSettings(
                format=spec.name, sample_rate=self.rate, bit_depth=self.bit_depth,
                channels=self.channels, azimuth=self.azimuth, lufs=self.lufs,
            )  # fmt: skip
        except ExportError as error:
            raise CommandError(str(error)) from None
        return spec.extension

    def write(self, audio: np.ndarray, sample_rate: int, target: Path) -> Path:
        """Write `audio` (samples,) at `sample_rate` to `target` with these settings."""
        from sda.audio.export import export_audio

        return export_audio(
            audio,
            target,
            sample_rate_in=sample_rate,
            format=self.format.lower().lstrip("."),
            sample_rate=self.rate,
            bit_depth=self.bit_depth,
            channels=self.channels,
            azimuth=self.azimuth,
            lufs=self.lufs,
            overwrite=self.overwrite,
        )
