"""Command-line options checked before any work: one sentence naming the option and what it takes.

Typer checks types; these check meaning (an output folder that is really a file, a sample rate of
0) that would otherwise surface as a traceback, or as every file called unreadable, much later.
"""

from __future__ import annotations

import math
from pathlib import Path

from sda.cli.options import CommandError

SAMPLE_RATES = (8000, 192_000)  # Hz: what the audio reader and the models accept

OptionError = CommandError  # the CLI's one error class, under the name these checks used


def check_out_dir(path: Path, option: str = "--out-dir") -> None:
    """`path` is a folder, or can be made one: neither it nor a parent is an existing file."""
    path = Path(path).expanduser()
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            where = "is a file" if folder == path else f"is inside {folder}, which is a file"
            raise OptionError(
                f"{option} {path} {where}, not a folder: give a folder (it is created if needed)"
            )
        if folder.is_dir():
            return


def check_sample_rate(rate: int, option: str = "--sample-rate") -> None:
    low, high = SAMPLE_RATES
    if not low <= rate <= high:
        raise OptionError(
            f"{option} {rate} is not a sample rate: give one in Hz from {low} to {high}, e.g. 48000"
        )


def check_number(value: float, option: str, *, low: float, high: float, above: bool = False):
    """`value` finite and in low..high (`above`: strictly above low)."""
    inside = math.isfinite(value) and (value > low if above else value >= low) and value <= high
    if not inside:
        span = f"above {low:g} and at most {high:g}" if above else f"from {low:g} to {high:g}"
        raise OptionError(f"{option} {value:g} is not allowed: give a number {span}")
