"""Open a model from whatever the musician typed: a library name, a bundle folder, a training run
or one of its checkpoint files.

Vocabulary: a *model* is what a command or the app works with (a codec, maybe a prior); a *bundle*
is how a model is stored (a folder, see `sda.library.bundle`); the *library* is a folder of bundles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sda.library.bundle import CONFIG_FILE, BundleError, load_bundle_folder
from sda.library.checkpoints import load_run
from sda.library.errors import UnknownBundleError
from sda.library.library import Library
from sda.library.names import did_you_mean

if TYPE_CHECKING:
    from sda.library.bundle import Bundle


def _open_path(path: Path, device: str) -> Bundle:
    """A bundle folder, a codec or prior training run (a prior run finds the codec it was trained
    on), or a run's .ckpt file."""
    path = path.expanduser()
    if not path.exists():
        raise BundleError(
            f"{path} does not exist; give a bundle folder, a training run or a library name"
        )
    if path.is_file() and path.suffix.lower() == ".zip":
        raise BundleError(f"{path} is a zip archive; add it first with `sda library import {path}`")
    if path.is_dir() and (path / CONFIG_FILE).exists():
        return load_bundle_folder(path, device=device)
    return load_run(path, device=device)


def _looks_like_path(ref: str | os.PathLike) -> bool:
    text = str(ref)
    return isinstance(ref, os.PathLike) or any(c in text for c in "/\\~") or text.startswith(".")


def open_model(
    ref: str | os.PathLike, library: Library | None = None, *, device: str = "cpu"
) -> Bundle:
    """The one way to open a model: `ref` is a library name, or a path (bundle folder, training
    run, checkpoint file). A bare word is looked up in `library` (default: the user's) first,
    then as a folder in the working directory."""
    if _looks_like_path(ref):
        return _open_path(Path(ref), device)
    text = str(ref)
    library = library if library is not None else Library()
    if library.has(text):
        return library.load(text, device=device)
    if Path(text).exists():
        return _open_path(Path(text), device)
    names = library.names()
    hint = did_you_mean(text, names)
    listing = (
        " See `sda library list`."
        if names
        else " The library is empty: add one with `sda library add RUN --name NAME`."
    )
    raise UnknownBundleError(
        f'no bundle named "{text}" in the library at {library.root} and no such folder.{hint}{listing}'
    )


def load_bundle(path: str | os.PathLike, *, device: str = "cpu") -> Bundle:
    """`open_model` for a path only (never a library name): a bundle folder, a run, a .ckpt."""
    return open_model(Path(path), device=device)


# The name used before `open_model`; kept for scripts, notebooks and training entry points.
resolve_bundle = open_model
