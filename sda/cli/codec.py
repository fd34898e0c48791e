"""CLI commands: `sda encode`, `sda decode`, `sda reconstruct`: audio <-> code grids, many files at once.

A bad file is reported and skipped while the others are processed; the command then exits 1.
A stereo model reads files as stereo (a mono file centred, said so) and writes codes with a mid
and a side grid; stereo codes decode to two channels unless --channels asks otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sda.cli.options import (
    AudioOutput,
    AzimuthOption,
    BitDepthOption,
    CommandError,
    DeviceOption,
    FormatOption,
    LevelsOption,
    LibraryOption,
    LufsOption,
    ModelArgument,
    OutDirOption,
    OverwriteOption,
    RateOption,
    load_model,
)
from sda.errors import SdaError

if TYPE_CHECKING:
    import numpy as np

    from sda.dna.codes import Codes
    from sda.library import Bundle

AS_THE_SOUND = "auto"  # --channels: stereo codes stay stereo, mono codes stay mono
SoundChannelsOption = Annotated[
    str,
    typer.Option(
        "--channels",
        help="auto (as the sound is: stereo codes give stereo files), mono, stereo or binaural.",
    ),
]

# Older names, still imported from here by sda.cli.generate.
BundleArgument = ModelArgument
CodecCommandError = CommandError
_load_model = load_model


def _targets(inputs: list[Path], out_dir: Path, suffix: str) -> dict[Path, Path]:
    """Output path per input (named after it); refuses collisions before any work starts."""
    from sda.cli.option_checks import check_out_dir

    check_out_dir(out_dir)
    targets: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    for path in inputs:
        target = out_dir / f"{path.stem}{suffix}"
        if target in seen:
            raise CommandError(
                f"{seen[target]} and {path} would both be written to {target}; "
                "give them different names or process them into different --out-dir folders"
            )
        if target.resolve() == path.resolve():
            raise CommandError(
                f"{path} would be overwritten by its own output; choose another --out-dir"
            )
        seen[target] = path
        targets[path] = target
    out_dir.mkdir(parents=True, exist_ok=True)
    return targets


def _check_free(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise CommandError(f"{target} already exists; pass --overwrite to replace it")


def _run_batch(inputs: list[Path], verb: str, work: Callable[[Path], Path]) -> None:
    """Apply `work` to each input with a progress bar; report and skip failures, exit 1 at the end."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    errors = Console(stderr=True, soft_wrap=True)
    failed: list[Path] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task(verb, total=len(inputs))
        for path in inputs:
            progress.update(task, description=f"{verb} {path.name}")
            try:
                written = work(path)
            except SdaError as error:
                failed.append(path)
                progress.console.print(f"[red]skipped[/] {path}: {error}", highlight=False)
            else:
                typer.echo(str(written))  # stdout: one output path per line, for scripts
            progress.advance(task)
    if failed:
        names = ", ".join(p.name for p in failed[:3]) + (", ..." if len(failed) > 3 else "")
        raise CommandError(
            f"{len(failed)} of {len(inputs)} files failed ({names}); see the messages above"
        )


def encode(
    model: ModelArgument,
    inputs: Annotated[list[Path], typer.Argument(help="Audio files to encode.")],
    out_dir: OutDirOption,
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Encode audio files into code grids: writes OUT_DIR/NAME.sdacodes for each input.

    A .sdacodes file is a NumPy .npz archive: `indices` (levels x frames, int32) and `meta`
    (JSON: bundle_id, frame_rate, codebook_size, provenance); a stereo model's codes add a
    `side` grid. Decode it with `sda decode`.

    Example: sda encode "my kit" kick.wav snare.flac --out-dir codes/
    """
    from sda.dna.codec_bridge import encode_file
    from sda.dna.codes import SUFFIX

    targets = _targets(inputs, out_dir, SUFFIX)
    bundle = load_model(model, library, device)

    def work(path: Path) -> Path:
        _check_free(targets[path], overwrite)
        codes = encode_file(bundle, path)
        _note_layout(path, codes)
        return codes.save(targets[path])

    _run_batch(inputs, "encoding", work)


def decode(
    model: ModelArgument,
    codes: Annotated[list[Path], typer.Argument(help=".sdacodes files to decode.")],
    out_dir: OutDirOption,
    levels: LevelsOption = None,
    format: FormatOption = "wav",
    rate: RateOption = 48_000,
    bit_depth: BitDepthOption = None,
    channels: SoundChannelsOption = AS_THE_SOUND,
    azimuth: AzimuthOption = 0.0,
    lufs: LufsOption = None,
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Decode code grids (.sdacodes) back into audio, named after each codes file.

    Stereo codes (a stereo model's mid and side grids) give two-channel files; a mono model
    refuses them (decode them with the stereo model that made them).

    Example: sda decode "my kit" codes/kick.sdacodes --out-dir audio/ --levels 2 --format flac
    """
    from sda.dna.codec_bridge import decode as decode_grid
    from sda.dna.codes_fit import check_codes
    from sda.dna.session import load_grid

    output = AudioOutput(
        format=format,
        rate=rate,
        bit_depth=bit_depth,
        channels=channels,
        azimuth=azimuth,
        lufs=lufs,
        overwrite=overwrite,
    )
    targets = _targets(codes, out_dir, _checked(output))
    bundle = load_model(model, library, device)
    _check_levels(levels, bundle)

    def work(path: Path) -> Path:
        _check_free(targets[path], overwrite)
        grid = load_grid(path)  # a codes file, or an explorer session's current sound
        check_codes(bundle, grid, what=f"the codes in {path.name}")
        if levels is not None and levels > grid.levels:
            raise CommandError(f"{path} has only {grid.levels} levels; lower --levels")
        audio = decode_grid(bundle, grid, levels=levels)  # (samples,) or stereo (2, samples)
        return _written(output, audio, bundle, targets[path])

    _run_batch(codes, "decoding", work)


def reconstruct(
    model: ModelArgument,
    inputs: Annotated[list[Path], typer.Argument(help="Audio files to pass through the codec.")],
    out_dir: OutDirOption,
    levels: LevelsOption = None,
    format: FormatOption = "wav",
    rate: RateOption = 48_000,
    bit_depth: BitDepthOption = None,
    channels: SoundChannelsOption = AS_THE_SOUND,
    azimuth: AzimuthOption = 0.0,
    lufs: LufsOption = None,
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Encode then decode audio files: hear what the model keeps. Outputs are named after the inputs.

    A stereo model keeps the files' stereo image (mono files come back centred).

    Example: sda reconstruct "my kit" takes/*.wav --out-dir recon/ --levels 4
    """
    from sda.dna.codec_bridge import decode as decode_grid
    from sda.dna.codec_bridge import encode_file

    output = AudioOutput(
        format=format,
        rate=rate,
        bit_depth=bit_depth,
        channels=channels,
        azimuth=azimuth,
        lufs=lufs,
        overwrite=overwrite,
    )
    targets = _targets(inputs, out_dir, _checked(output))
    bundle = load_model(model, library, device)
    _check_levels(levels, bundle)

    def work(path: Path) -> Path:
        _check_free(targets[path], overwrite)
        grid = encode_file(bundle, path)
        _note_layout(path, grid)
        audio = decode_grid(bundle, grid, levels=levels)[..., : _samples_of(grid, bundle)]
        return _written(output, audio, bundle, targets[path])

    _run_batch(inputs, "reconstructing", work)


def _checked(output: AudioOutput) -> str:
    """`AudioOutput.check` for every layout "auto" may become; the file extension."""
    if output.channels != AS_THE_SOUND:
        return output.check()
    for layout in ("stereo", "mono"):
        extension = replace(output, channels=layout).check()
    return extension


def _written(output: AudioOutput, audio: np.ndarray, model: Bundle, target: Path) -> Path:
    """Write `audio` with `output`'s settings, "auto" channels following the sound's own."""
    if output.channels == AS_THE_SOUND:
        output = replace(output, channels="stereo" if audio.ndim == 2 else "mono")
    return output.write(audio, model.codec.config.sample_rate, target)


def _note_layout(path: Path, codes: Codes) -> None:
    """Say (on stderr) when a stereo model changed a file's layout (a mono file is centred)."""
    from sda.dna.codec_bridge import layout_note

    note = layout_note(codes, path.name)
    if note:
        typer.echo(f"note: {note}", err=True)


def _samples_of(grid, model: Bundle) -> int:
    """The input's length: encoding pads to whole frames, the reconstruction should not grow."""
    operations = grid.provenance.get("operations") or [{}]
    return int(operations[0].get("samples") or grid.frames * model.codec.config.samples_per_frame)


def _check_levels(levels: int | None, model: Bundle) -> None:
    available = model.codec.config.num_levels
    if levels is not None and not 1 <= levels <= available:
        raise CommandError(
            f"--levels must be between 1 and {available} for {model.name}, got {levels}"
        )


def register(app: typer.Typer) -> None:
    """Add `sda encode`, `sda decode` and `sda reconstruct` to the main app."""
    app.command("encode")(encode)
    app.command("decode")(decode)
    app.command("reconstruct")(reconstruct)
