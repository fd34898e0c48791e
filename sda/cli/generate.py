"""CLI command `sda generate`: new sounds from a model's prior, steered by the musical controls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sda.cli.options import (
    AudioOutput,
    AzimuthOption,
    BitDepthOption,
    ChannelsOption,
    CommandError,
    DeviceOption,
    FormatOption,
    LibraryOption,
    LufsOption,
    ModelArgument,
    OverwriteOption,
    RateOption,
    load_model,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from sda.dna.codes import Codes
    from sda.dna.take import Take
    from sda.generate import GenerationSettings
    from sda.library import Bundle


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
SecondsOption = Annotated[float, typer.Option("--seconds", "-s", help="Length of each output.")]
CountOption = Annotated[
    int, typer.Option("--count", "-n", help="How many takes (seeds SEED, SEED+1, ...).")
]
SeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed: the same seed gives the same take.")
]
TemperatureOption = Annotated[
    float, typer.Option("--temperature", "-t", help="Below 1: safer; above 1: wilder.")
]
TopKOption = Annotated[
    int | None, typer.Option("--top-k", help="Sample only among the K likeliest codes.")
]
TopPOption = Annotated[
    float | None, typer.Option("--top-p", help="Sample only among codes making up probability P.")
]
GuidanceOption = Annotated[
    float, typer.Option("--guidance", help="How hard the controls pull: 0 ignores them.")
]
CandidatesOption = Annotated[
    int,
    typer.Option(
        "--candidates",
        help="With controls set: sample this many, keep the one measuring closest (1: off).",
    ),
]
PromptOption = Annotated[
    Path | None, typer.Option("--prompt", help="Continue this: a .sdacodes file or an audio file.")
]
TakesDirOption = Annotated[Path, typer.Option("--out-dir", "-o", help="Folder for the takes.")]
MAX_COUNT = 1000


def generate(
    bundle: ModelArgument,
    seconds: SecondsOption = 10.0,
    count: CountOption = 1,
    seed: SeedOption = 0,
    temperature: TemperatureOption = 1.0,
    top_k: TopKOption = None,
    top_p: TopPOption = None,
    guidance: GuidanceOption = 3.0,
    candidates: CandidatesOption = 4,
    brightness: BrightnessOption = None,
    warmth: WarmthOption = None,
    roughness: RoughnessOption = None,
    tension: TensionOption = None,
    density: DensityOption = None,
    loudness: LoudnessOption = None,
    prompt: PromptOption = None,
    format: FormatOption = "wav",
    rate: RateOption = 48_000,
    bit_depth: BitDepthOption = None,
    channels: ChannelsOption = "mono",
    azimuth: AzimuthOption = 0.0,
    lufs: LufsOption = None,
    out_dir: TakesDirOption = Path("."),
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Generate new sounds with a model's prior; prints one output path per take.

    Example: sda generate "my kit" --seconds 30 --count 4 --brightness 0.8 --format flac -o takes/
    A control can move over the take: --density 0.1:0.9 starts sparse and ends busy.
    """
    from sda.audio.export import export_audio
    from sda.generate import GenerationSettings

    controls = {
        "brightness": brightness, "warmth": warmth, "roughness": roughness, "tension": tension,
        "density": density, "loudness": loudness,
    }  # fmt: skip
    settings = GenerationSettings(
        seconds=seconds,
        seed=seed,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        guidance=guidance,
        candidates=candidates,
        controls=controls,
    )  # refuses bad values, in the app's words too, before the model loads
    _check_request(settings, count=count, prompt=prompt)
    output = AudioOutput(
        format=format, rate=rate, bit_depth=bit_depth, channels=channels, azimuth=azimuth,
        lufs=lufs, overwrite=overwrite,
    )  # fmt: skip
    extension = output.check()
    _check_out_dir(out_dir)
    model = load_model(bundle, library, device)
    prompt_codes = _load_prompt(model, prompt)
    targets = _take_paths(model, out_dir, seed, count, extension, overwrite)
    with _progress_bar() as progress:
        for index, target in enumerate(targets):
            take_settings = replace(settings, seed=seed + index)
            take = _one_take(model, progress, take_settings, index, count, prompt_codes)
            tags = _take_tags(model, take_settings, prompt)
            written = export_audio(
                take.audio, target, sample_rate_in=take.sample_rate, format=extension[1:],
                sample_rate=rate, bit_depth=bit_depth, channels=channels, azimuth=azimuth,
                lufs=lufs, tags=tags, overwrite=overwrite,
            )  # fmt: skip
            typer.echo(str(written))  # stdout: one output path per line, for scripts


def _check_request(settings: GenerationSettings, *, count: int, prompt: Path | None) -> None:
    """Refuse a count or prompt that cannot work, before the model loads."""
    if not 1 <= count <= MAX_COUNT:
        raise CommandError(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    replace(settings, seed=settings.seed + count - 1)  # the last take's seed is in range too
    if prompt is not None and not prompt.is_file():
        raise CommandError(f"--prompt {prompt}: no such file")


def _check_out_dir(out_dir: Path) -> None:
    from sda.cli.option_checks import check_out_dir

    check_out_dir(out_dir)


def _load_prompt(model: Bundle, prompt: Path | None) -> Codes | None:
    from sda.dna.codec_bridge import load_codes_or_audio

    return load_codes_or_audio(model, prompt) if prompt is not None else None


def _take_paths(
    model: Bundle, out_dir: Path, seed: int, count: int, extension: str, overwrite: bool
) -> list[Path]:
    """One file per take, named after the model and seed; refuses to clobber before any work."""
    from sda.audio.export import safe_filename

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = safe_filename(model.name) or "take"
    targets = [out_dir / f"{stem}-seed{seed + i}{extension}" for i in range(count)]
    for target in targets:
        if target.exists() and not overwrite:
            raise CommandError(f"{target} already exists; pass --overwrite or another --seed")
    return targets


@contextmanager
def _progress_bar() -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield progress


def _one_take(
    model: Bundle,
    progress: Progress,
    settings: GenerationSettings,
    index: int,
    count: int,
    prompt: Codes | None,
) -> Take:
    """One take (decoded once, at the level asked for), with its progress on the bar."""
    from sda.generate import generate as generate_take

    task = progress.add_task(f"take {index + 1}/{count} (seed {settings.seed})", total=None)

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    take = generate_take(model, prompt=prompt, on_progress=report, **settings.to_dict())
    progress.remove_task(task)
    return take


def _take_tags(model: Bundle, settings: GenerationSettings, prompt: Path | None) -> dict[str, Any]:
    return {
        "title": f"{model.name} seed {settings.seed}",
        "album": model.name,
        "model": model.name,
        "model_id": model.id,
        "seed": settings.seed,
        "settings": {k: v for k, v in settings.to_dict().items() if k != "seed"},
        "sources": str(prompt) if prompt is not None else None,
    }


def register(app: typer.Typer) -> None:
    """Add `sda generate` to the main app."""
    app.command("generate")(generate)
