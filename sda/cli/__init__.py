"""The `sda` command line: a thin Typer app; each command group lives in its own module.

Command modules import torch and the models inside their functions so `sda --help` stays fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from sda.errors import SdaError

app = typer.Typer(
    name="sda",
    help="Small DataSet Audio: train a codec + prior on your own recordings, then explore them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    # Imported here, not at the top, so a broken optional group never hides the others' help.
    from sda.cli import codec, data, demo, dna, edit, explore, generate, library

    for module in (demo, data, codec, generate, library, edit, dna, explore):
        module.register(app)


_register_commands()


def main() -> None:
    """Entry point: run the app; user errors become one red line and exit code 1, never a traceback."""
    try:
        app()
    except SdaError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]")
        sys.exit(130)
