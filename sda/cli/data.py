"""CLI commands: `sda data inspect DIR` judges every audio file of a folder, and the set, before
training; `sda data cache` shows (and with --clean frees) the disk space the caches take."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP = "Check a folder of recordings before training: which files are usable, and why not."
MAX_LISTED_OK = 200  # above this many files the table lists only those with something to say


def _verdict_cell(report) -> str:
    return "[green]ok[/]" if report.usable else "[red]skipped[/]"


def _file_table(report):
    """One row per file: its name under the folder, verdict, seconds and reason or flags."""
    from rich.table import Table

    table = Table(title=f"{report.folder}", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("verdict")
    table.add_column("seconds", justify="right")
    table.add_column("reason / flags", overflow="fold")
    for entry in _listed(report.files):
        name = report.shown_path(entry.path)
        notes = entry.reason if not entry.usable else "; ".join(entry.flags)
        seconds = f"{entry.seconds:.2f}" if entry.seconds else "-"
        table.add_row(name, _verdict_cell(entry), seconds, notes)
    return table


def _listed(files: list) -> list:
    """Every file of a small set; of a big one only those skipped or flagged."""
    if len(files) <= MAX_LISTED_OK:
        return files
    return [entry for entry in files if not entry.usable or entry.flags]


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def inspect(
    folder: Annotated[
        Path, typer.Argument(help="The folder of recordings (searched recursively).")
    ],
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir", help="Where decoded audio is cached (default: your user cache)."
        ),
    ] = None,
    sample_rate: Annotated[
        int, typer.Option("--sample-rate", help="Rate the model trains at.")
    ] = 48000,
    min_seconds: Annotated[
        float,
        typer.Option(
            "--min-seconds", help="Files shorter than this are padded to it (and flagged)."
        ),
    ] = 1.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the full report as JSON to this file.")
    ] = None,
    channels: Annotated[
        str,
        typer.Option(
            "--channels",
            help="auto (what sda-train picks: stereo when most of the audio is), 1 or 2.",
        ),
    ] = "auto",
) -> None:
    """Judge every audio file in FOLDER: ok, or skipped with the reason; flags say what was fixed.
    Then the set as a whole: how it splits, and whether it is enough for the codec and the prior.

    Files are read as training reads them: mono, or left/right when the run would be stereo
    (`model.channels=auto` picks stereo when most of the usable seconds are; --channels to see
    the other layout). Exits 0 when at least one file is usable, 1 with one sentence when none is.

    Example:  sda data inspect ~/sounds/field-recordings
    """
    from sda.cli.option_checks import check_number, check_sample_rate

    check_sample_rate(sample_rate)  # 0 would make every file look unreadable
    check_number(min_seconds, "--min-seconds", low=0.0, high=600.0)

    from rich.console import Console
    from rich.markup import escape

    from sda.dataset.channels import parse_channels

    layout = parse_channels(channels)  # SdaError: one line naming the option's values
    report = _scan_with_progress(folder, sample_rate, min_seconds, cache_dir, layout)
    console = Console()
    if report.files:
        console.print(_file_table(report))
    quiet = len(report.files) - len(_listed(report.files))
    if quiet:
        console.print(
            f"{quiet} more files are ok with nothing to note (--json lists every file).",
            highlight=False,
        )
    for note in report.notes:  # folders not entered, a cache that could not take the audio
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    console.print(
        f"[bold]{len(report.usable)}[/] usable of {len(report.files)} audio files: "
        f"{report.usable_seconds:.1f} s, {report.num_frames()} latent frames. "
        f"Ignored {report.ignored} other entries "
        f"({report.ignored_hidden} hidden, {report.ignored_other} not audio).",
        highlight=False,
    )
    if report.usable:
        console.print(f"Channels: {escape(report.channel_choice)}.", highlight=False)
        _print_verdict(console, report)
    if report.cache_dir is not None:
        _print_cache_line(console, report)
    if json_path is not None:
        json_path.write_text(report.to_json(), encoding="utf-8")
    report.require_usable()  # DatasetError -> one red line, exit 1


def _scan_with_progress(folder, sample_rate, min_seconds, cache_dir, channels):
    """`scan_folder` with a transient progress bar on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    from sda.dataset.scan import scan_folder

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scanning", total=None)

        def advance(done: int, total: int, path: Path) -> None:
            progress.update(task, total=total, completed=done, description=path.name[:40])

        return scan_folder(
            folder,
            sample_rate=sample_rate,
            min_seconds=min_seconds,
            cache_dir=cache_dir,
            progress=advance,
            channels=channels,
        )


_LEVEL_COLOURS = {"too little": "red", "small": "yellow", "enough": "green"}


def _print_verdict(console, report) -> None:
    """The set as a whole: how it splits, and what to expect from each training stage."""
    from rich.markup import escape

    from sda.dataset.verdict import judge_set

    verdict = judge_set(report)
    console.print(f"\n[bold]The set:[/] {escape(verdict.lines()[0])}", highlight=False)
    for stage in (verdict.codec, verdict.prior):
        colour = _LEVEL_COLOURS.get(stage.level, "default")
        line = escape(stage.line()).replace(stage.level, f"[{colour}]{stage.level}[/]", 1)
        console.print(f"  {line}", highlight=False)


def _print_cache_line(console, report) -> None:
    """How much disk the decoded audio takes: this folder's share and the whole cache."""
    from sda.dataset import AudioCache

    cache = AudioCache(report.cache_dir)
    mine = 0
    for entry in report.usable:
        path = cache.audio_path(entry.path, report.sample_rate, report.channels)
        if path is not None and path.is_file():  # else not cached (the cache disk was full)
            mine += path.stat().st_size
    usage = cache.usage()
    console.print(
        f"\nCache: {_size(mine)} of decoded audio for this folder, {_size(usage.total_bytes)} in "
        f"all at {cache.root} (`sda data cache --clean` frees it; it is rebuilt when needed).",
        highlight=False,
    )


def cache(
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="The cache folder (default: your user cache)."),
    ] = None,
    clean: Annotated[
        bool,
        typer.Option(
            "--clean", help="Remove the cached audio and prior codes (rebuilt when needed)."
        ),
    ] = False,
) -> None:
    """Show how much disk the caches take: decoded audio (one entry per scanned file) and the
    prior's encoded codes. With --clean, remove them; they are rebuilt when next needed.

    Example:  sda data cache --clean
    """
    from rich.console import Console

    from sda.dataset import AudioCache
    from sda.dataset.cache_space import clear_prior_codes, prior_codes_dir, prior_codes_usage
    from sda.dataset.scan import DatasetError

    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        raise DatasetError(
            f"--cache-dir {cache_dir} is a file, not a folder: pass the cache folder."
        )
    console = Console()
    audio, codes = AudioCache(cache_dir), prior_codes_dir(cache_dir)
    if clean:
        removed = [audio.clear(), clear_prior_codes(codes)]
    else:
        removed = [audio.usage(), prior_codes_usage(codes)]
    names = ("decoded audio", "prior codes")
    for name, usage in zip(names, removed, strict=True):
        extra = f" + {usage.leftovers} leftovers of interrupted writes" if usage.leftovers else ""
        verb = "removed" if clean else "holds"
        console.print(
            f"{name}: {verb} {usage.files} files{extra}, {_size(usage.total_bytes)} ({usage.folder})",
            highlight=False,
        )
    total = sum(usage.total_bytes for usage in removed)
    if clean:
        console.print(f"Freed {_size(total)}.", highlight=False)
    elif total:
        console.print(f"{_size(total)} in all: `sda data cache --clean` frees it.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `data` command group to the main app."""
    data_app = typer.Typer(help=HELP, no_args_is_help=True)
    data_app.command("inspect")(inspect)
    data_app.command("cache")(cache)
    app.add_typer(data_app, name="data")
