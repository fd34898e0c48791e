"""CLI commands: `sda library add|list|show|search|rename|tag|delete|import|export|doctor`.

`sda library add` turns training runs into a bundle; `sda export` is its old, deprecated name.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sda.cli.options import LibraryOption

if TYPE_CHECKING:
    from sda.library import Library, LibraryEntry

NameArgument = Annotated[str, typer.Argument(help="Bundle name in the library.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

HELP = (
    "Manage the model library: add training runs as bundles; list, show, search, rename, tag, "
    "delete, import and export (.zip) bundles; `doctor` repairs it after a crash."
)


class Weights(StrEnum):
    """Which codec checkpoint `sda library add` takes."""

    best = "best"
    last = "last"


def _open(root: Path | None) -> Library:
    from sda.library import Library

    return Library(root)


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def _notice(library: Library) -> None:
    if library.notice:
        _console(stderr=True).print(f"[yellow]warning:[/] {library.notice}")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.1f} s"


def _table(entries: list[LibraryEntry], title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("name", "tags", "prior", "dataset", "created", "id"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        files = len(entry.dataset_files)
        dataset = (
            f"{files} files, {_seconds(entry.dataset_seconds)}"
            if files
            else _seconds(entry.dataset_seconds)
        )
        table.add_row(
            entry.name,
            ", ".join(entry.tags),
            "yes" if entry.has_prior else "no",
            dataset,
            entry.created[:16].replace("T", " "),
            entry.id,
        )
    return table


def _print_entries(entries: list[LibraryEntry], title: str, as_json: bool, empty: str) -> None:
    from dataclasses import asdict

    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2, ensure_ascii=False))
    elif entries:
        _console().print(_table(entries, title))
    else:
        _console().print(empty)


def add(
    run_dir: Annotated[
        Path,
        typer.Argument(help="Codec training run folder (or a prior run, which names its codec)."),
    ],
    name: Annotated[
        str, typer.Option("--name", "-n", help="Name of the new bundle in the library.")
    ],
    prior: Annotated[
        Path | None, typer.Option("--prior", help="Prior training run trained on this codec.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Tag to add (repeatable).")
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview/--no-preview", help="Render a short preview.ogg.")
    ] = True,
    checkpoint: Annotated[
        Weights,
        typer.Option(
            "--checkpoint",
            help="The codec's weights: best (lowest held-out mel, checkpoints/best.ckpt) or last.",
        ),
    ] = Weights.best,
    library: LibraryOption = None,
) -> None:
    """Turn training runs into a bundle and add it to the model library.

    Example: sda library add outputs/codec/2025-01-31_12-00-00 --prior outputs/prior/2025-01-31_14-00-00 --name "my kit" --tag drums
    """
    from sda.library import add_run

    target = _open(library)
    path = add_run(
        run_dir,
        prior_run=prior,
        name=name,
        library=target,
        tags=tag or [],
        preview=preview,
        checkpoint=checkpoint.value,
    )
    _notice(target)
    entry = target.get(path.name)
    _print_weights(path)
    _console().print(f"added [bold]{entry.name}[/] ({entry.id}) to {path}")


def _deprecated(command: Callable[..., None], old: str, new: str) -> Callable[..., None]:
    """`command` under its old name: the same options, plus a one-line note on stderr."""

    @functools.wraps(command)
    def run(*args, **kwargs) -> None:
        _console(stderr=True).print(
            f"[yellow]note:[/] `{old}` is now `{new}`; the old name goes away in the next release"
        )
        command(*args, **kwargs)

    run.__doc__ = f"Deprecated: the old name of `{new}`, which it runs (see `{new} --help`)."
    return run


def _print_weights(bundle_dir: Path) -> None:
    """Which codec weights went into the bundle, and why when they are not the ones asked for."""
    from sda.library.bundle import META_FILE

    try:
        meta = json.loads((bundle_dir / META_FILE).read_text(encoding="utf-8"))
        codec = meta["training"]["codec"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # informative only
    if codec.get("checkpoint_note"):
        _console(stderr=True).print(f"[yellow]note:[/] {codec['checkpoint_note']}")
    if codec.get("checkpoint"):
        _console().print(f"codec weights: {codec['checkpoint']}")


def list_bundles(library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """List the bundles in the library.

    Example: sda library list --library ~/models
    """
    target = _open(library)
    entries = target.list()
    _notice(target)
    _print_entries(
        entries,
        f"{target.root}",
        as_json,
        f"no bundles in {target.root} yet; add one with `sda library add RUN --name NAME`",
    )


def show(name: NameArgument, library: LibraryOption = None, as_json: JsonOption = False) -> None:
    """Everything known about one bundle: dataset, training, descriptors, lineage, versions, files.

    Example: sda library show "my kit"
    """
    from rich.table import Table

    from sda.audio.control_fidelity import describe_kept
    from sda.generate.sampling_defaults import describe_tension_way

    target = _open(library)
    meta = target.show(name)
    _notice(target)
    if as_json:
        typer.echo(json.dumps(meta, indent=2, ensure_ascii=False))
        return
    table = Table(show_header=False, title=meta.get("name"), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    dataset = meta.get("dataset") or {}
    files = [f.get("name", "") for f in dataset.get("files", [])]
    shown_files = ", ".join(files[:12]) + (f" (+{len(files) - 12} more)" if len(files) > 12 else "")
    rows = {
        "id": meta.get("id"),
        "path": meta.get("path"),
        "created": meta.get("created"),
        "tags": ", ".join(meta.get("tags", [])),
        "prior": "yes" if meta.get("has_prior") else "no",
        "dataset": f"{len(files)} files, {_seconds(dataset.get('seconds'))}" if files else None,
        "dataset files": shown_files or None,
        "training": json.dumps(meta.get("training")) if meta.get("training") else None,
        "controls (codec keeps)": describe_kept(meta.get("descriptor_stats")),
        "tension sampled by": describe_tension_way(meta.get("descriptor_stats")),
        "grown from": _lineage(meta.get("lineage")),
        "versions": ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()),
        "files": ", ".join(f"{k} ({v / 1024:.0f} KiB)" for k, v in meta.get("files", {}).items()),
    }
    for key, value in rows.items():
        if value:
            table.add_row(key, str(value))
    _console().print(table)


def _lineage(record: dict | None) -> str | None:
    if not record:
        return None
    parts = []
    while record:
        parts.append(
            f"{record.get('parent_name') or record.get('init_from')} ({record.get('parent_id') or '?'})"
        )
        record = record.get("parent_lineage")
    return " <- ".join(parts)


def search(
    query: Annotated[
        str, typer.Argument(help="Text in a name, tag, dataset file name or date.")
    ] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only bundles with this tag.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created on or after, e.g. 2025-01-31.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Created on or before.")] = None,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find bundles by name, tag, dataset file name or creation date.

    Example: sda library search kick --tag drums --since 2025-01-01
    """
    target = _open(library)
    found = target.search(query, tags=tag or [], since=since, until=until)
    _notice(target)
    _print_entries(
        found, f"matching {query!r}" if query else "matching", as_json, "no bundle matches"
    )


def rename(
    old: NameArgument,
    new: Annotated[str, typer.Argument(help="New name.")],
    library: LibraryOption = None,
) -> None:
    """Rename a bundle.

    Example: sda library rename "my kit" "drums 2025"
    """
    target = _open(library)
    entry = target.rename(old, new)
    _notice(target)
    _console().print(f"renamed {old!r} to [bold]{entry.name}[/]")


def tag(
    name: NameArgument,
    tags: Annotated[list[str], typer.Argument(help="Tags to add (or remove with --remove).")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead.")] = False,
    library: LibraryOption = None,
) -> None:
    """Add tags to a bundle, or remove them.

    Example: sda library tag "my kit" drums acoustic   |   sda library tag "my kit" acoustic --remove
    """
    target = _open(library)
    entry = target.tag(name, remove=tags) if remove else target.tag(name, add=tags)
    _notice(target)
    _console().print(f"{entry.name}: {', '.join(entry.tags) or 'no tags'}")


def delete(
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    library: LibraryOption = None,
) -> None:
    """Delete a bundle from the library (asks first unless --yes).

    Example: sda library delete "old kit" --yes
    """
    target = _open(library)
    entry = target.get(name)  # unknown names fail here, with suggestions, before any question
    if not yes and not typer.confirm(
        f'Delete "{entry.name}" ({entry.id}) from {target.root}? This cannot be undone'
    ):
        _console(stderr=True).print("nothing deleted")
        raise typer.Exit(1)
    target.delete(entry.name)
    _notice(target)
    _console().print(f"deleted {entry.name}")


def import_zip(
    zip_path: Annotated[Path, typer.Argument(help="A bundle .zip (made by `sda library export`).")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Name in this library (default: its own).")
    ] = None,
    library: LibraryOption = None,
) -> None:
    """Add a bundle shared as a .zip; it is checked before anything is added.

    Example: sda library import ~/Downloads/my-kit.zip --name "their kit"
    """
    target = _open(library)
    entry = target.import_zip(zip_path, name=name)
    _notice(target)
    _console().print(f"imported [bold]{entry.name}[/] ({entry.id})")


def export_zip(
    name: NameArgument,
    zip_path: Annotated[Path, typer.Argument(help="The .zip file to write.")],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
    library: LibraryOption = None,
) -> None:
    """Write a bundle to a .zip to share it.

    Example: sda library export "my kit" my-kit.zip
    """
    target = _open(library)
    path = target.export_zip(name, zip_path, overwrite=overwrite)
    _notice(target)
    _console().print(f"wrote {path}")


def _megabytes(count: int) -> str:
    return f"{count / 1024**2:.1f} MB"


def doctor(
    clean: Annotated[
        bool, typer.Option("--clean", help="Remove the leftovers it lists (never a model).")
    ] = False,
    library: LibraryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the library after a crash or a full disk: finish or undo interrupted operations, set
    names and the index right, and list leftover files with their sizes (--clean removes them).

    Example: sda library doctor --clean
    """
    from dataclasses import asdict

    target = _open(library)
    report = target.doctor(clean=clean)
    _notice(target)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2, ensure_ascii=False, default=str))
        return
    console = _console()
    for label, lines in (
        ("recovered", report.recovered),
        ("repaired", report.repaired),
        ("damaged, left as is", report.damaged),
    ):
        for line in lines:
            console.print(f"{label}: {line}")
    for item in report.leftovers:
        console.print(f"leftover: {item.path} ({_megabytes(item.size)}, {item.what})")
    total = _megabytes(report.leftover_bytes)
    if report.leftovers and report.cleaned:
        console.print(f"removed {len(report.leftovers)} leftover(s), {total} freed")
    elif report.leftovers:
        console.print(
            f"{len(report.leftovers)} leftover(s), {total}: remove them with "
            "`sda library doctor --clean`"
        )
    if not (report.recovered or report.repaired or report.damaged or report.leftovers):
        console.print(f"the library at {target.root} is healthy ({len(target.names())} bundles)")


def register(app: typer.Typer) -> None:
    """Add the `sda library ...` group (and the deprecated `sda export`) to the main app."""
    app.command("export")(_deprecated(add, "sda export", "sda library add"))
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command("add")(add)
    group.command("list")(list_bundles)
    group.command("show")(show)
    group.command("search")(search)
    # A new name such as "-rf" is an argument, not an option: no `--` needed (the name check
    # then explains what a name may hold); known options like --library still work.
    group.command("rename", context_settings={"ignore_unknown_options": True})(rename)
    group.command("tag")(tag)
    group.command("delete")(delete)
    group.command("import")(import_zip)
    group.command("export")(export_zip)
    group.command("doctor")(doctor)
    app.add_typer(group, name="library")
