"""Turn failures inside UI callbacks into short messages for the person, never a stack trace.

A `SdaError` already speaks to a musician and is shown as is; anything else is a bug: the full
traceback goes to the terminal running `sda explore`, the browser gets one friendly line.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import tempfile
from collections.abc import Callable
from typing import Any

import gradio as gr

from sda.errors import SdaError

log = logging.getLogger("sda.app")


def friendly(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Gradio callback; `action` names what failed ("generating", "exporting")."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except gr.Error:
                raise
            except SdaError as error:
                raise gr.Error(
                    without_temp_paths(str(error)), title=f"Problem {action}", print_exception=False
                ) from None
            except MemoryError:
                raise gr.Error(
                    "ran out of memory; try a shorter duration or fewer takes",
                    title=f"Problem {action}",
                    print_exception=False,
                ) from None
            except Exception as error:  # a bug: keep the details for the terminal only
                log.exception("unexpected error while %s", action)
                raise gr.Error(
                    f"something went wrong while {action} ({type(error).__name__}); "
                    "the details are in the terminal running `sda explore`",
                    title="Unexpected problem",
                    print_exception=False,
                ) from None

        # Gradio inspects the signature to inject gr.Progress and gr.Request; keep it visible.
        wrapper.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
        return wrapper

    return decorate


# An absolute path: a run of non-blank characters after a slash (quotes and colons end it).
_PATH = re.compile(r"(?<![\w.])/[^\s'\"`:,;()\[\]]+")


def temp_roots() -> list[str]:
    """Folders whose paths mean nothing to the person: the temp folder (uploads land there,
    the explorer's own work folder too) and Gradio's cache."""
    roots = [tempfile.gettempdir(), os.environ.get("GRADIO_TEMP_DIR", "")]
    return [os.path.realpath(root) for root in roots if root]


def without_temp_paths(message: str) -> str:
    """`message` with every path inside a temp folder shortened to its file name: an upload's
    temporary copy is "kick.wav" to the person who uploaded it."""
    roots = temp_roots()

    def shorten(match: re.Match[str]) -> str:
        path = match.group(0).rstrip(".")
        tail = match.group(0)[len(path) :]
        real = os.path.realpath(path)
        inside = any(real == root or real.startswith(root + os.sep) for root in roots)
        inside = inside or any(path.startswith(root + os.sep) for root in roots)
        return (os.path.basename(path) or path) + tail if inside else match.group(0)

    return _PATH.sub(shorten, message)


def warn(message: str) -> None:
    """A yellow toast that does not stop the operation."""
    gr.Warning(message)


def info(message: str) -> None:
    gr.Info(message)
