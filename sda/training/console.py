"""The front door of `sda-train` and `sda-train-prior`: every user error as one line, exit code 1.

Hydra prints a bad override (`data.batch_size=[`, `no_such_key=1`, `model=nope`) on several lines
plus a hint about HYDRA_FULL_ERROR; here it becomes one `error:` line like our own errors. A user
who sets HYDRA_FULL_ERROR=1 to debug still gets Hydra's full traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sda.errors import SdaError
from sda.training import recipes
from sda.training.config_checks import check_output_folders

FULL_ERROR = "HYDRA_FULL_ERROR"
# set beside FULL_ERROR by run_app: a DDP rank re-running the command inherits both and knows the
# user did not ask for tracebacks
_SET_BY_SDA = "SDA_SET_HYDRA_FULL_ERROR"
CONFIG_ERRORS = (HydraException, OmegaConfBaseException)


def run_app(hydra_main: Callable[[], None], *, app: str) -> None:
    """Resolve `recipe=auto` in sys.argv and refuse a run folder that is a file, then run the
    Hydra app; Hydra's own errors in one line."""
    try:  # Hydra cannot choose a config file from the hardware: resolve recipe=auto first
        sys.argv = recipes.argv_with_recipe(sys.argv, app=app)
        check_output_folders(sys.argv[1:])  # before Hydra tries to create them
    except SdaError as error:
        fail(str(error))
    if _user_wants_tracebacks():
        hydra_main()
        return
    # only with this set does Hydra raise its errors instead of printing them on several lines
    os.environ[FULL_ERROR] = os.environ[_SET_BY_SDA] = "1"
    try:
        hydra_main()
    except CONFIG_ERRORS as error:
        fail(one_line(error))
    finally:
        os.environ.pop(FULL_ERROR, None)
        os.environ.pop(_SET_BY_SDA, None)


def run_job(train: Callable[[DictConfig], Any], cfg: DictConfig) -> None:
    """Inside the Hydra job: `train(cfg)`, a user error as one line and exit code 1 (raised out of
    the job, Hydra would first print "Error executing job with overrides: [...]")."""
    try:
        train(cfg)
    except SdaError as error:
        fail(str(error))
    except CONFIG_ERRORS as error:  # e.g. trainer.precision=abc, found when Lightning starts
        if _user_wants_tracebacks():
            raise
        fail(one_line(error))


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def one_line(error: BaseException) -> str:
    """Hydra's or OmegaConf's message on one line, naming the override it could not use."""
    if isinstance(error, MissingConfigException) and error.options:  # e.g. model=nope
        first = _flatten(str(error).split("Available options")[0])
        return f"{first}; available: {', '.join(error.options)}"
    text = _flatten(str(error))
    if isinstance(error, OverrideParseException) and error.override not in text:
        text = f"cannot read the override '{error.override}': {text}"
    cause = error.__cause__
    if isinstance(cause, OmegaConfBaseException):  # "Key 'foo' is not in struct" and such
        text += f" ({_flatten(str(cause).split('full_key:')[0])})"
    return text


def _user_wants_tracebacks() -> bool:
    return os.environ.get(FULL_ERROR) == "1" and os.environ.get(_SET_BY_SDA) != "1"


def _flatten(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
