"""`sda demo`: the whole pipeline on a built-in synthesized set, start to finish, in a few CPU minutes.

Synthesize data -> inspect it -> train a codec -> train a prior -> add them to the library as a bundle
-> render reconstructions and generated takes. Each stage is the same code a musician runs by hand,
with the same recipe for this machine (`sda-train`'s `recipe=auto`); only the time budgets are the
demo's own.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
MAX_MINUTES = 99 * 60  # Lightning's DD:HH:MM:SS budget holds two digits of hours

EXAMPLE = """
Example:

    sda demo                         # ~8 CPU minutes, everything under outputs/demo

    sda demo --minutes 1 --prior-minutes 1 --takes 2
"""


def _max_time(minutes: float) -> str:
    """Lightning's DD:HH:MM:SS from minutes (at least one second)."""
    seconds = max(1, round(minutes * 60))
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _replaceable(library, name: str, out_dir: Path) -> bool:
    """True when the library's `name` bundle was made by an earlier demo in `out_dir`."""
    source = library.show(name).get("source", {}).get("codec", "")
    return Path(source).resolve().is_relative_to(out_dir.resolve())


def run_demo(
    *,
    out_dir: Path,
    minutes: float,
    prior_minutes: float,
    takes: int,
    seconds: float,
    name: str,
    library_dir: Path | None,
    fresh: bool,
) -> Path:
    """Run every stage; returns the bundle folder in the library."""
    from sda.cli.option_checks import check_number, check_out_dir

    check_out_dir(out_dir)
    for option, value in (("--minutes", minutes), ("--prior-minutes", prior_minutes)):
        check_number(value, option, low=0.0, high=MAX_MINUTES, above=True)

    from sda.dataset.demo import synthesize_demo_set
    from sda.dataset.scan import scan_folder
    from sda.library import Library, add_run, load_bundle_folder

    out_dir = out_dir.expanduser().resolve()
    data_dir = out_dir / "data"
    renders = out_dir / "renders"
    library = Library(library_dir)
    _check_name_is_free(library, name, out_dir)  # before minutes of training, not after

    console.rule("[bold]1/5 demo data")
    if fresh or not (data_dir.is_dir() and any(data_dir.iterdir())):
        synthesize_demo_set(data_dir)
    report = scan_folder(data_dir)
    console.print(f"{data_dir}: {report.summary()}")

    codec_run, prior_run = _train(
        out_dir, data_dir, minutes=minutes, prior_minutes=prior_minutes, fresh=fresh
    )

    console.rule("[bold]4/5 bundle")
    if library.has(name):  # an earlier demo's bundle (checked above): replace it
        library.delete(name)
    bundle_dir = add_run(codec_run, prior_run=prior_run, name=name, library=library)
    bundle = load_bundle_folder(bundle_dir)
    console.print(f'bundle "{name}" saved in {bundle_dir}')

    console.rule("[bold]5/5 renders")
    _write_renders(bundle, data_dir, renders, takes=takes, seconds=seconds, name=name)
    console.print(
        f"\n[green]Done.[/] Listen to {renders}, then try:\n"
        f"  sda generate {name} --seconds 20 --brightness 0.8 --out-dir takes/\n"
        f"  sda explore\n  tensorboard --logdir {out_dir}"
    )
    return bundle_dir


def _check_name_is_free(library, name: str, out_dir: Path) -> None:
    """Refuse a name the library already holds, unless an earlier demo in `out_dir` made it."""
    from sda.errors import SdaError

    if library.has(name) and not _replaceable(library, name, out_dir):
        raise SdaError(
            f'the library already has a bundle named "{name}" that is not from this demo; '
            "pass --name to choose another name"
        )


def _train(
    out_dir: Path, data_dir: Path, *, minutes: float, prior_minutes: float, fresh: bool
) -> tuple[Path, Path]:
    """Stages 2 and 3: the codec, then the prior on its codes; returns (codec run, prior run)."""
    from sda.training import train_codec, train_prior

    resume = "false" if fresh else "true"
    console.rule(f"[bold]2/5 codec ({minutes:g} min)")
    codec_cfg = train_codec.compose_config(
        [
            "name=demo",
            f"paths.output_dir={out_dir}",
            f"data.dir={data_dir}",
            f"trainer.max_time={_max_time(minutes)}",
            f"resume={resume}",
        ]
    )
    codec_run = train_codec.train(codec_cfg)

    console.rule(f"[bold]3/5 prior ({prior_minutes:g} min)")
    prior_cfg = train_prior.compose_config(
        [
            f"codec={codec_run}",
            "name=demo",
            f"paths.output_dir={out_dir}",
            f"trainer.max_time={_max_time(prior_minutes)}",
            f"resume={resume}",
            # a lighter tension check than a real model's (a quarter of the takes): the demo
            # shows the pipeline in minutes, and its synthesized set says little of tension
            "tension_check.seconds=2",
            "tension_check.seeds=2",
        ]
    )
    return codec_run, train_prior.train(prior_cfg)


def _write_renders(bundle, data_dir: Path, renders: Path, *, takes: int, seconds: float, name: str):
    """Reconstructions of three demo sounds and `takes` generated takes, as 24-bit WAV."""
    from sda.audio.export import export_audio
    from sda.audio.io import load_audio
    from sda.dna.codec_bridge import decode, encode_audio
    from sda.generate import generate

    renders.mkdir(parents=True, exist_ok=True)
    rate = bundle.codec.config.sample_rate
    for source in sorted(data_dir.glob("*.wav"))[:3]:
        codes = encode_audio(bundle, load_audio(source, sample_rate=rate)[0], source=source.name)
        path = export_audio(
            decode(bundle, codes),
            renders / f"reconstructed-{source.stem}.wav",
            sample_rate_in=rate,
            overwrite=True,
            tags={"title": f"{source.stem} (reconstructed)", "album": name},
        )
        console.print(f"  {path}")
    for seed in range(takes):
        take = generate(bundle, seconds=seconds, seed=seed, temperature=0.9)
        path = export_audio(
            take.audio,  # decoded once, at the material's level
            renders / f"take-{seed + 1}.wav",
            sample_rate_in=rate,
            overwrite=True,
            tags={"title": f"demo take {seed + 1}", "album": name, "comment": f"seed {seed}"},
        )
        console.print(f"  {path}")


def register(app: typer.Typer) -> None:
    """Add `sda demo`."""

    @app.command(help="Run the whole pipeline on a synthesized demo set." + EXAMPLE)
    def demo(
        minutes: float = typer.Option(5.0, help="Minutes of codec training."),
        prior_minutes: float = typer.Option(3.0, help="Minutes of prior training."),
        takes: int = typer.Option(3, min=0, help="How many generated takes to render."),
        seconds: float = typer.Option(8.0, min=0.5, help="Length of each generated take."),
        out_dir: Path = typer.Option(Path("outputs/demo"), help="Where data, runs and renders go."),
        name: str = typer.Option("demo", help="The bundle's name in the library."),
        library: Path | None = typer.Option(None, help="Model library folder."),
        fresh: bool = typer.Option(False, help="Start over instead of resuming earlier demo runs."),
    ) -> None:
        run_demo(
            out_dir=out_dir,
            minutes=minutes,
            prior_minutes=prior_minutes,
            takes=takes,
            seconds=seconds,
            name=name,
            library_dir=library,
            fresh=fresh,
        )
