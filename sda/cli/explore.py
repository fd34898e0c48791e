"""CLI command `sda explore`: open the Gradio explorer on this computer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sda.cli.options import CommandError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def explore(
    library: Annotated[
        Path | None,
        typer.Option(
            "--library",
            help="Model library folder (default: $SDA_LIBRARY or your user data folder).",
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Port to serve on; the next free one is used if taken.")
    ] = 7860,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Keep 127.0.0.1 (this computer only) unless you trust your network.",
        ),
    ] = "127.0.0.1",
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or mps.")] = "cpu",
) -> None:
    """Open the explorer in your browser: library, generate, DNA editor, export.

    Example: sda explore --library ~/sda-models --port 7860
    """
    import logging

    from rich.console import Console

    from sda.app.build import build_app, launch_app
    from sda.library.library import Library

    if not 1 <= port <= 65535:
        raise CommandError(f"port {port} is not a valid port; use 1024..65535, e.g. --port 7860")
    console = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    lib = Library(library)
    local = host in LOCAL_HOSTS
    from sda.app.host_guard import exposure_warning

    warning = exposure_warning(host, lib.root)  # None on this computer only
    if warning:
        console.print(f"[yellow]warning:[/] {warning}")
    app = build_app(lib, device=device, allow_training=local)
    chosen = _free_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"library: {lib.root}")
    console.print(f"open [bold]http://{shown}:{chosen}[/] in your browser (Ctrl+C stops)")
    launch_app(app, host=host, port=chosen, block=True, quiet=True)


def _free_port(host: str, port: int, tries: int = 20) -> int:
    """`port` if free, else the next free one (so a second explorer just works)."""
    import socket

    for candidate in range(port, min(port + tries, 65536)):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return candidate
    raise CommandError(f"ports {port}..{port + tries - 1} are all busy on {host}; pass --port")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("explore")(explore)
