"""Training recipes chosen from where training runs: `recipe=auto|cpu|cuda|mps`.

Each recipe is a `# @package _global_` file, conf/recipe/<app>_<name>.yaml (app: codec or prior).
Hydra cannot pick a config file from the hardware, so `with_recipe` turns the user's `recipe=...`
(or none: auto) into `recipe=<app>_<name>` before composing; the defaults list places the recipe
after `_self_` and before `debug`/`experiment`, so those and every command-line override win.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import torch

from sda.errors import SdaError

log = logging.getLogger(__name__)

RECIPES = ("cpu", "cuda", "mps")
CHOICES = ("auto", *RECIPES)
APPS = ("codec", "prior")
# what each recipe means to the person at the keyboard (the values live in conf/recipe/)
NOTES = {
    ("codec", "cpu"): "laptop CPU: codec_small, 2 threads, 20-minute budget",
    ("codec", "cuda"): "CUDA GPU: codec_small, batch 32, up to 200k steps, no time limit",
    ("codec", "mps"): "Apple MPS: codec_small, batch 16",
    ("prior", "cpu"): "laptop CPU: prior_small, 2 threads",
    ("prior", "cuda"): "CUDA GPU: the default prior",
    ("prior", "mps"): "Apple MPS: prior_small",
}
# an explicit trainer choice says where the user means to train: auto follows it (trainer=ddp
# runs on GPUs or CPU processes, so there auto follows the hardware)
_TRAINER_RECIPES = {"cpu": "cpu", "gpu": "cuda", "mps": "mps"}


class RecipeError(SdaError):
    """A `recipe=` value that names no recipe."""


def detect() -> str:
    """The recipe for this machine: cuda when PyTorch sees a CUDA GPU, else mps, else cpu."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _choice(override: str, key: str) -> str | None:
    """The value of a plain `key=value` override (not `key.sub=...`), else None."""
    name, sep, value = override.partition("=")
    return value if sep and name == key else None


def _concrete(value: str, app: str, trainer: str | None) -> str:
    """`auto`, `cpu`, ... or `<app>_cpu` -> the config name `<app>_<recipe>`."""
    value = value.strip().removeprefix(f"{app}_")
    if value == "auto":
        value = _TRAINER_RECIPES.get(trainer or "") or detect()
    if value not in RECIPES:
        raise RecipeError(f"recipe={value} is not a recipe: choose one of {', '.join(CHOICES)}")
    return f"{app}_{value}"


def with_recipe(overrides: Sequence[str], *, app: str) -> list[str]:
    """`overrides` with a concrete `recipe=<app>_<name>`: the user's choice, else auto.

    A sweep (`recipe=cpu,cuda`) maps each value. Without a `recipe=` the recipe goes before the
    first override (argparse reads overrides as one run of positional arguments).
    """
    if app not in APPS:
        raise ValueError(f"app must be one of {APPS}, not {app!r}")
    overrides = list(overrides)
    trainers = [v for v in (_choice(o, "trainer") for o in overrides) if v is not None]
    trainer = trainers[-1] if trainers else None
    for i, override in enumerate(overrides):
        value = _choice(override, "recipe")
        if value is not None:
            names = ",".join(_concrete(v, app, trainer) for v in value.split(","))
            overrides[i] = f"recipe={names}"
            return overrides
    first = next((i for i, o in enumerate(overrides) if "=" in o and not o.startswith("-")), None)
    at = len(overrides) if first is None else first
    overrides.insert(at, f"recipe={_concrete('auto', app, trainer)}")
    return overrides


def argv_with_recipe(argv: Sequence[str], *, app: str) -> list[str]:
    """A console script's `sys.argv` with the recipe resolved (see `with_recipe`).

    With no overrides at all the recipe goes first: after a flag such as `--info` it would be
    read as the flag's value.
    """
    program, *args = argv
    if any("=" in a and not a.startswith("-") for a in args):
        return [program, *with_recipe(args, app=app)]
    return [program, *with_recipe([], app=app), *args]


def _logged_to_console() -> bool:
    """True when this module's INFO lines already reach stdout or stderr (as under the Hydra apps)."""
    if not log.isEnabledFor(logging.INFO):
        return False
    consoles = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    logger: logging.Logger | None = log
    while logger is not None:
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            if handler.level <= logging.INFO and any(stream is c for c in consoles):
                return True
        logger = logger.parent if logger.propagate else None
    return False


def announce(recipe: str | None, *, app: str) -> str:
    """Say which recipe a run uses and how to change it: in the log, and once on the console."""
    others = "|".join(RECIPES)
    line = (
        f"recipe: {recipe} ({NOTES.get((app, str(recipe)), 'custom')}) "
        f"— override with recipe={others} or any key=value"
    )
    return tell(line)


def tell(line: str) -> str:
    """Log `line` and make sure it reaches the terminal once: printed only when the log line
    would not get there anyway (`sda demo`, tests)."""
    if not _logged_to_console():
        print(line, file=sys.stderr, flush=True)
    log.info(line)
    return line
