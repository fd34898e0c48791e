"""CLI command `sda generate`: new sounds from a bundle's prior, steered by the musical controls."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sda.cli.codec import (
    AudioOutput,
    AzimuthOption,
    BitDepthOption,
    BundleArgument,
    ChannelsOption,
    DeviceOption,
    FormatOption,
    LibraryOption,
    LufsOption,
    OverwriteOption,
    RateOption,
)
from sda.errors import SdaError


def _control(name: str, what: str):
    """A --NAME option: a 0..1 target for one control, or a curve of keyframes ("0.1:0.9")."""
    return Annotated[
        str | None,
        typer.Option(
            f"--{name}",
            help=f"0..1 target, {what}; a:b[:c...] moves from a to b over the take (unset: free).",
        ),
    ]


BrightnessOption = _control("brightness", "dark .. bright (spectral centroid)")
WarmthOption = _control("warmth", "thin .. warm (low vs high energy)")
RoughnessOption = _control("roughness", "pure .. noisy (spectral flatness)")
TensionOption = _control("tension", "consonant .. dissonant")
DensityOption = _control("density", "sparse .. busy (onsets per second)")
LoudnessOption = _control("loudness", "quiet .. loud")


class GenerateCommandError(SdaError):
    """Options of `sda generate` that cannot work."""


def generate(
    bundle: BundleArgument,
    seconds: Annotated[
        float, typer.Option("--seconds", "-s", help="Length of each output.")
    ] = 10.0,
    count: Annotated[
        int, typer.Option("--count", "-n", help="How many takes (seeds SEED, SEED+1, ...).")
    ] = 1,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same take.")
    ] = 0,
    temperature: Annotated[
        float, typer.Option("--temperature", "-t", help="Below 1: safer; above 1: wilder.")
    ] = 1.0,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Sample only among the K likeliest codes.")
    ] = None,
    top_p: Annotated[
        float | None,
        typer.Option("--top-p", help="Sample only among codes making up probability P."),
    ] = None,
    guidance: Annotated[
        float, typer.Option("--guidance", help="How hard the controls pull: 0 ignores them.")
    ] = 3.0,
    candidates: Annotated[
        int,
        typer.Option(
            "--candidates",
            help="With controls set: sample this many, keep the one measuring closest (1: off).",
        ),
    ] = 4,
    brightness: BrightnessOption = None,
    warmth: WarmthOption = None,
    roughness: RoughnessOption = None,
    tension: TensionOption = None,
    density: DensityOption = None,
    loudness: LoudnessOption = None,
    prompt: Annotated[
        Path | None,
        typer.Option("--prompt", help="Continue this: a .sdacodes file or an audio file."),
    ] = None,
    format: FormatOption = "wav",
    rate: RateOption = 48_000,
    bit_depth: BitDepthOption = None,
    channels: ChannelsOption = "mono",
    azimuth: AzimuthOption = 0.0,
    lufs: LufsOption = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-o", help="Folder for the takes.")] = Path(
        "."
    ),
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Generate new sounds with a model's prior; prints one output path per take.

    Example: sda generate "my kit" --seconds 30 --count 4 --brightness 0.8 --format flac -o takes/
    A control can move over the take: --density 0.1:0.9 starts sparse and ends busy.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from sda.audio.export import export_audio, safe_filename
    from sda.cli.codec import _load_model
    from sda.cli.option_checks import check_out_dir
    from sda.dna.codec_bridge import load_codes_or_audio
    from sda.generate import generate as generate_codes
    from sda.generate import render
    from sda.generate.curves import describe
    from sda.generate.engine import check_settings, control_tensors

    controls = {
        "brightness": brightness, "warmth": warmth, "roughness": roughness,
        "tension": tension, "density": density, "loudness": loudness,
    }  # fmt: skip
    controls = {name: value for name, value in controls.items() if value is not None}
    control_tensors(controls)  # refuse bad values before the model loads
    controls = {name: describe(value, name) for name, value in controls.items()}
    if not 1 <= count <= 1000:
        raise GenerateCommandError(f"--count must be between 1 and 1000, got {count}")
    check_settings(
        seconds=seconds, temperature=temperature, top_k=top_k, top_p=top_p, guidance=guidance,
        candidates=candidates,
    )  # fmt: skip
    output = AudioOutput(
        format=format, rate=rate, bit_depth=bit_depth, channels=channels, azimuth=azimuth,
        lufs=lufs, overwrite=overwrite,
    )  # fmt: skip
    extension = output.check()
    if prompt is not None and not prompt.is_file():
        raise GenerateCommandError(f"--prompt {prompt}: no such file")
    check_out_dir(out_dir)
    model = _load_model(bundle, library, device)
    prompt_codes = load_codes_or_audio(model, prompt) if prompt is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_filename(model.name) or "take"
    targets = [out_dir / f"{stem}-seed{seed + i}{extension}" for i in range(count)]
    for target in targets:
        if target.exists() and not overwrite:
            raise GenerateCommandError(
                f"{target} already exists; pass --overwrite or another --seed"
            )
    settings = {
        "seconds": seconds, "temperature": temperature, "top_k": top_k, "top_p": top_p,
        "guidance": guidance, "controls": controls, "candidates": candidates,
    }  # fmt: skip
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        for index, target in enumerate(targets):
            take_seed = seed + index
            task = progress.add_task(f"take {index + 1}/{count} (seed {take_seed})", total=None)

            def report(done: int, total: int, task=task) -> None:
                progress.update(task, completed=done, total=total)

            codes = generate_codes(
                model, seconds=seconds, seed=take_seed, temperature=temperature, top_k=top_k,
                top_p=top_p, guidance=guidance, controls=controls, prompt=prompt_codes,
                candidates=candidates, on_progress=report,
            )  # fmt: skip
            audio = render(model, codes, controls)  # (samples,), at the loudness asked for
            tags = {
                "title": f"{model.name} seed {take_seed}",
                "album": model.name,
                "model": model.name,
                "model_id": model.id,
                "seed": take_seed,
                "settings": settings,
                "sources": str(prompt) if prompt is not None else None,
            }
            written = export_audio(
                audio, target, sample_rate_in=model.codec.config.sample_rate,
                format=output.format.lower().lstrip("."), sample_rate=rate, bit_depth=bit_depth,
                channels=channels, azimuth=azimuth, lufs=lufs, tags=tags, overwrite=overwrite,
            )  # fmt: skip
            progress.remove_task(task)
            typer.echo(str(written))  # stdout: one output path per line, for scripts


def register(app: typer.Typer) -> None:
    """Add `sda generate` to the main app."""
    app.command("generate")(generate)
