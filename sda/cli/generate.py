"""CLI command `sda generate`: new sounds from a model's prior, steered by the musical controls.

A stereo model (trained on stereo) writes 2-channel takes of its own image; --width then scales
the model's own side (0 = mono, 0.5 = as generated, 1 = twice the side) and --channels mono mixes
the takes down. A mono model's takes are spread to stereo by --width and --movement as before.
"""

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
    from sda.generate.loop import Loop
    from sda.generate.loop_length import LoopLength
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
SecondsOption = Annotated[
    float | None,
    typer.Option("--seconds", "-s", help="Length of each output (default 10; a loop's length)."),
]
LoopOption = Annotated[
    bool,
    typer.Option(
        "--loop",
        help="Seamless loops: each take's end flows into its start; the file carries loop points "
        "(WAV smpl chunk, LOOPSTART/LOOPLENGTH tags in flac/ogg/mp3). Length: --seconds, or "
        "--bars with --bpm.",
    ),
]
BarsOption = Annotated[
    float | None,
    typer.Option("--bars", help="Length in bars at --bpm, exact to the sample (e.g. 4)."),
]
BpmOption = Annotated[
    float | None, typer.Option("--bpm", help="Tempo for --bars, 20 to 400 beats per minute.")
]
BeatsPerBarOption = Annotated[
    int, typer.Option("--beats-per-bar", help="Beats in one bar for --bars (4 = 4/4).")
]
WidthOption = Annotated[
    float | None,
    typer.Option(
        "--width",
        help="Stereo width 0..1, makes the output stereo: 0 = mono; 0.5 = side/mid -4.8 dB "
        "(L/R correlation 0.50); 1 = side/mid +0.0 dB (L and R unrelated). "
        "Unset: 0, or 0.5 with --channels stereo. A stereo model scales its own side: "
        "0 = mono, 0.5 = as generated (unset), 1 = side +6 dB (at most L and R unrelated).",
    ),
]
MovementOption = Annotated[
    float,
    typer.Option(
        "--movement",
        help="Stereo movement 0..1, makes the output stereo: a slow auto-pan, one swing every "
        "4 s (a loop: whole swings); at 1 the L/R level swings up to +-9.5 dB.",
    ),
]
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
    float | None,
    typer.Option(
        "--guidance",
        help="How hard the controls pull: 0 ignores them. Unset: 1 (brightness, warmth, "
        "roughness and loudness are set at render time, density by rests, tension by steering "
        "candidates); 3 for tension when the model measured in training that one take follows it.",
    ),
]
CandidatesOption = Annotated[
    int | None,
    typer.Option(
        "--candidates",
        help="With controls set: draw this many side by side; every second all continue from "
        "the one measuring closest (1: off). Unset: 3 when tension is set, else 1; 1 when the "
        "model measured in training that one take follows tension.",
    ),
]
GenerateChannelsOption = Annotated[
    str | None,
    typer.Option(
        "--channels",
        help="mono, stereo or binaural. Unset: stereo for a stereo model (its own image), "
        "else mono.",
    ),
]
PromptOption = Annotated[
    Path | None, typer.Option("--prompt", help="Continue this: a .sdacodes file or an audio file.")
]
TakesDirOption = Annotated[Path, typer.Option("--out-dir", "-o", help="Folder for the takes.")]
MAX_COUNT = 1000


def generate(
    bundle: ModelArgument,
    seconds: SecondsOption = None,
    loop: LoopOption = False,
    bars: BarsOption = None,
    bpm: BpmOption = None,
    beats_per_bar: BeatsPerBarOption = 4,
    count: CountOption = 1,
    seed: SeedOption = 0,
    temperature: TemperatureOption = 1.0,
    top_k: TopKOption = None,
    top_p: TopPOption = None,
    guidance: GuidanceOption = None,
    candidates: CandidatesOption = None,
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
    channels: GenerateChannelsOption = None,
    azimuth: AzimuthOption = 0.0,
    width: WidthOption = None,
    movement: MovementOption = 0.0,
    lufs: LufsOption = None,
    out_dir: TakesDirOption = Path("."),
    library: LibraryOption = None,
    device: DeviceOption = "cpu",
    overwrite: OverwriteOption = False,
) -> None:
    """Generate new sounds with a model's prior; prints one output path per take.

    Example: sda generate "my kit" --seconds 30 --count 4 --brightness 0.8 --format flac -o takes/
    A control can move over the take: --density 0.1:0.9 starts sparse and ends busy.
    Loops: sda generate "my kit" --loop --bars 4 --bpm 120 --width 0.5 --out-dir loops/
    A stereo model writes stereo takes; --width 0.8 widens its own side, --channels mono mixes down.
    """
    from sda.cli.take_length import TakeLength
    from sda.generate import GenerationSettings

    controls = {
        "brightness": brightness, "warmth": warmth, "roughness": roughness, "tension": tension,
        "density": density, "loudness": loudness,
    }  # fmt: skip
    length = TakeLength(seconds, bars, bpm, beats_per_bar, loop)
    # a conflicting or impossible length or a bad value: one message (the app's words), no work
    settings = GenerationSettings(
        seconds=length.check(), seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
        controls=controls, **_sampling(controls, guidance, candidates),
    )  # fmt: skip
    _check_request(settings, count=count, prompt=prompt, loop=loop)
    output = AudioOutput(
        format=format, rate=rate, bit_depth=bit_depth, channels=channels or "mono",
        azimuth=azimuth, lufs=lufs, overwrite=overwrite,
    )  # fmt: skip
    extension = output.check()
    _check_stereo(width, movement, channels or "mono")  # a bad value: refused before the model
    _check_out_dir(out_dir)
    model = load_model(bundle, library, device)
    own_side, channels, stereo = _layout(model, width, movement, channels)
    exact, settings = _settings_for(model, settings, length, (controls, guidance, candidates))
    _say_settings(exact, loop, stereo)
    _say_controls(model, settings.controls, settings.guidance, settings.candidates)
    prompt_codes = _load_prompt(model, prompt)
    targets = _take_paths(model, out_dir, seed, count, extension, overwrite)
    export_options = _export_options(
        own_side, sample_rate=rate, bit_depth=bit_depth, channels=channels, azimuth=azimuth,
        width=width, movement=movement, lufs=lufs, overwrite=overwrite,
        loop_seconds=exact.exact_seconds if loop else None,
    )  # fmt: skip
    _write_takes(
        model, targets, settings, exact=exact, loop=loop, prompt=prompt,
        prompt_codes=prompt_codes, format=extension[1:], export_options=export_options,
    )  # fmt: skip


def _settings_for(model, settings, length, asked: tuple) -> tuple:
    """(the loop's exact length or None for a plain --seconds take, the settings with that length
    and the sampling picked for this model); `asked`: (controls, --guidance, --candidates)."""
    exact = length.for_model(model)
    seconds = settings.seconds if exact is None else exact.seconds
    return exact, replace(settings, seconds=seconds, **_sampling(*asked, model))


def _sampling(controls, guidance: float | None, candidates: int | None, model=None) -> dict:
    """--guidance and --candidates as settings, each unset one chosen for the controls asked
    and, once it is loaded, the model: a prior that measured one take following tension gets
    one (`sda.generate.sampling_defaults`)."""
    from sda.generate.sampling_defaults import sampling_defaults
    from sda.generate.steering import stats_record

    auto_guidance, auto_candidates = sampling_defaults(controls, stats_record(model))
    return {
        "guidance": auto_guidance if guidance is None else guidance,
        "candidates": auto_candidates if candidates is None else candidates,
    }


def _layout(model, width, movement, channels: str | None) -> tuple:
    """(stereo model?, the output layout, the stereo settings to report): a stereo model writes
    stereo unless told otherwise, its width acting on its own side."""
    from sda.models.stereo_codec import is_stereo

    own_side = is_stereo(model)
    channels = channels or ("stereo" if own_side else "mono")
    stereo = _model_stereo(width, movement, channels) if own_side else None
    return own_side, channels, stereo or _check_stereo(width, movement, channels)


def _export_options(own_side: bool, **options) -> dict:
    """What each take's export gets; a stereo model's take has its own side scaled before the
    export (`own_side`), which then keeps the image as it is."""
    if own_side:
        width, movement = options["width"], options["movement"]
        options.update(channels=_model_layout(width, movement, options["channels"]), width=None)
        options.update(movement=0.0, own_side={"width": width, "movement": movement})
    return options


def _write_takes(
    model, targets: list[Path], settings: GenerationSettings, *, exact, loop: bool,
    prompt: Path | None, prompt_codes, format: str, export_options: dict,
) -> None:  # fmt: skip
    """Generate, export and announce each take (seeds settings.seed, seed+1, ...)."""
    from sda.audio.export import export_audio

    export_options = dict(export_options)
    own_side = export_options.pop("own_side", None)  # a stereo model's width and movement
    count = len(targets)
    with _progress_bar() as progress:
        for index, target in enumerate(targets):
            take_settings = replace(settings, seed=settings.seed + index)
            if loop:
                take = _one_loop(model, progress, take_settings, exact, index, count)
            else:
                take = _one_take(model, progress, take_settings, index, count, prompt_codes)
                take = _cut_to(take, exact)
            tags = _take_tags(model, take_settings, prompt, _length_settings(exact, loop))
            audio = take.audio if own_side is None else _own_side(take, loop=loop, **own_side)
            written = export_audio(
                audio,
                target,
                sample_rate_in=take.sample_rate,
                format=format,
                tags=tags,
                **export_options,
            )
            typer.echo(str(written))  # stdout: one output path per line, for scripts
            if loop:
                _say_loop(written, take)
            if own_side is not None and export_options["channels"] == "stereo":
                _say_mono_compatibility(written, audio)


def _check_request(
    settings: GenerationSettings, *, count: int, prompt: Path | None, loop: bool = False
) -> None:
    """Refuse a count or prompt that cannot work, before the model loads."""
    if not 1 <= count <= MAX_COUNT:
        raise CommandError(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    replace(settings, seed=settings.seed + count - 1)  # the last take's seed is in range too
    if prompt is not None and not prompt.is_file():
        raise CommandError(f"--prompt {prompt}: no such file")
    if prompt is not None and loop:
        raise CommandError(
            "--prompt continues a sound, but a loop is made afresh so its end can flow into its "
            "start: drop --prompt or --loop"
        )


def _check_stereo(width: float | None, movement: float, channels: str) -> str | None:
    """Refuse a width or movement out of range before any work; describe the stereo field in
    physical terms (None when the output is mono)."""
    from sda.audio.export_settings import DEFAULT_STEREO_WIDTH, ExportSettings
    from sda.audio.stereo_field import describe_movement, describe_width

    checked = ExportSettings(channels=channels, width=width, movement=movement)
    if checked.channels == "mono" or (checked.channels == "binaural" and not (width or movement)):
        return None  # nothing to spread: mono, or one point source placed binaurally
    width = checked.width
    if width is None:
        width = DEFAULT_STEREO_WIDTH if checked.channels == "stereo" else 0.0
    return (
        f"stereo: width {width:g} = {describe_width(width)}; "
        f"movement {checked.movement:g} = {describe_movement(checked.movement)}"
    )


def _model_stereo(width: float | None, movement: float, channels: str) -> str:
    """The stereo line for a stereo model's takes: its own side, scaled by the width."""
    from sda.audio.stereo_field import AS_GENERATED, describe_model_width, describe_movement

    if _model_layout(width, movement, channels) == "mono":
        return "stereo model: takes mixed down to mono (--channels mono)"
    width = AS_GENERATED if width is None else width
    return (
        f"stereo model: stereo takes of its own image; width {width:g} = "
        f"{describe_model_width(width)}; movement {movement:g} = {describe_movement(movement)}"
    )


def _model_layout(width: float | None, movement: float, channels: str) -> str:
    """A stereo model's export layout: as asked, a width or movement making mono stereo (the
    rule `ExportSettings` keeps for every take)."""
    from sda.audio.export_settings import ExportSettings

    return ExportSettings(channels=channels, width=width, movement=movement).channels


def _own_side(take, *, width: float | None, movement: float, loop: bool):
    """A stereo model's take (2, samples) with its own side scaled and moved (`model_field`)."""
    from sda.audio.stereo_field import AS_GENERATED, model_field

    width = AS_GENERATED if width is None else width
    if width == AS_GENERATED and not movement:
        return take.audio  # the decoder's samples exactly
    return model_field(take.audio, take.sample_rate, width=width, movement=movement, loop=loop)


def _say_settings(exact: LoopLength | None, loop: bool, stereo: str | None) -> None:
    """The length and the stereo field in physical terms, on stderr (stdout lists the files)."""
    if exact is not None:
        typer.echo(f"{'loop' if loop else 'length'}: {exact.describe()}", err=True)
    if stereo is not None:
        typer.echo(stereo, err=True)


def _say_controls(model, controls, guidance: float, candidates: int) -> None:
    """The set controls in this model's physical units ("density 0.9 (≈ 4.2 onsets/s)") and how
    they are sampled, on stderr."""
    from sda.audio.control_fidelity import weak_controls, weak_note
    from sda.generate.control_units import describe_controls
    from sda.generate.sampling_defaults import describe_sampling, notes_controls
    from sda.generate.steering import bundle_stats, stats_record

    stats = bundle_stats(model)
    if controls and stats is not None:
        typer.echo(f"controls: {describe_controls(controls, stats)}", err=True)
    weak = weak_controls(stats_record(model))
    for name in controls or {}:
        if name in weak:
            typer.echo(f"note: {weak_note(name, weak[name])}", err=True)
    if controls:
        # the controls the render cannot set are corrected while drawn when the model has ranges
        fed = notes_controls(controls) if stats is not None else []
        typer.echo(f"sampling: {describe_sampling(guidance, candidates, fed)}", err=True)


def _say_mono_compatibility(written: Path, audio) -> None:
    """How a stereo model's take survives a mono downmix (phase cancellation), on stderr."""
    from sda.audio.mono_compat import mono_compatibility

    typer.echo(f"{written.name}: {mono_compatibility(audio).describe()}", err=True)


def _say_loop(written: Path, loop: Loop) -> None:
    """How a loop came out: its seam, and the pitch change when it was stretched to its bars."""
    seam = "smooth" if loop.seam.passed else "audible: try another --seed"
    line = f"{written.name}: seam {seam}"
    if loop.pitch_cents:
        line += f"; stretched to fit its bars, pitch {loop.pitch_cents:+.1f} cents"
    typer.echo(line, err=True)


def _length_settings(exact: LoopLength | None, loop: bool) -> dict[str, Any]:
    """What the length options add to the take's settings tag."""
    if exact is None:
        return {}
    fitted = {"loop": loop, "samples": exact.samples}
    if exact.bars is not None:
        fitted.update(bars=exact.bars, bpm=exact.bpm, beats_per_bar=exact.beats_per_bar)
    return fitted


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


def _one_loop(
    model: Bundle,
    progress: Progress,
    settings: GenerationSettings,
    length: LoopLength,
    index: int,
    count: int,
) -> Loop:
    """One seamless loop of `length` (its join redrawn by the prior, cut where it joins best)."""
    from sda.generate.loop import generate_loop

    task = progress.add_task(f"loop {index + 1}/{count} (seed {settings.seed})", total=None)
    sampling = {k: v for k, v in settings.to_dict().items() if k != "seconds"}
    made = generate_loop(model, length, **sampling)
    progress.remove_task(task)
    return made


def _cut_to(take: Take, length: LoopLength | None) -> Take:
    """A tempo-fitted one-shot cut to its exact length (the codes cover whole frames, rounded up)."""
    if length is None or take.audio.shape[-1] <= length.samples:
        return take
    return replace(take, audio=take.audio[..., : length.samples])


def _take_tags(
    model: Bundle,
    settings: GenerationSettings,
    prompt: Path | None,
    length: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "title": f"{model.name} seed {settings.seed}",
        "album": model.name,
        "model": model.name,
        "model_id": model.id,
        "seed": settings.seed,
        "settings": {
            **{k: v for k, v in settings.to_dict().items() if k != "seed"},
            **(length or {}),
        },
        "sources": str(prompt) if prompt is not None else None,
    }


def register(app: typer.Typer) -> None:
    """Add `sda generate` to the main app."""
    app.command("generate")(generate)
