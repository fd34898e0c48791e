"""CLI commands: library (to be filled in)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
