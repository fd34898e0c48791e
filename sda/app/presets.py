"""Slider presets per model, kept in the library folder as `presets/<bundle id>.json`.

Presets are keyed by the bundle id (the codec fingerprint) so they survive renaming a model.
Writes are atomic (temp file + fsync + os.replace) and serialised with a file lock.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from filelock import FileLock

from sda.atomic_files import atomic_write
from sda.errors import SdaError

FORMAT_NAME = "sda-presets"
FORMAT_VERSION = 1
MAX_NAME_LENGTH = 60
MAX_PRESETS = 200
# What a presets file may hold, checked before it is parsed (size) and before it is used (shape):
# 200 presets of a few dozen settings fit in well under a megabyte.
MAX_FILE_BYTES = 2 * 1024**2
MAX_SETTINGS = 64  # keys in one preset (and in its nested `controls`)
MAX_LIST = 64  # keyframes in a control curve
MAX_TEXT = 200  # characters in a key or a text value
MAX_NUMBER = 1e9  # any number: a setting, not a size
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PresetError(SdaError):
    """A preset that cannot be saved, found or read."""


class PresetStore:
    """Named slider settings for each model, stored under `<library root>/presets/`."""

    def __init__(self, *, root: str | os.PathLike) -> None:
        self.folder = Path(root) / "presets"

    def names(self, model_id: str) -> list[str]:
        """Preset names for a model, sorted case-insensitively."""
        return sorted(self._read(model_id), key=str.lower)

    def load(self, model_id: str, name: str) -> dict[str, Any]:
        presets = self._read(model_id)
        if name not in presets:
            raise PresetError(f"no preset named {name!r} for this model; pick one from the list")
        return dict(presets[name])

    def save(self, model_id: str, name: str, settings: dict[str, Any]) -> str:
        """Store `settings` under `name` (replacing a preset of that name); returns the clean name."""
        name = validate_preset_name(name)
        if not _is_settings(settings, depth=0):  # never write what could not be read back
            raise PresetError(f"cannot save preset {name!r}: a setting is not a plain value")
        with self._lock(model_id):
            presets = self._read(model_id)
            if name not in presets and len(presets) >= MAX_PRESETS:
                raise PresetError(
                    f"this model already has {MAX_PRESETS} presets; delete some before saving more"
                )
            presets[name] = settings
            self._write(model_id, presets)
        return name

    def delete(self, model_id: str, name: str) -> None:
        with self._lock(model_id):
            presets = self._read(model_id)
            if name not in presets:
                raise PresetError(f"no preset named {name!r} to delete")
            del presets[name]
            self._write(model_id, presets)

    def _path(self, model_id: str) -> Path:
        if not _SAFE_ID.match(model_id or ""):
            raise PresetError(f"cannot store presets for model id {model_id!r}")
        return self.folder / f"{model_id}.json"

    def _lock(self, model_id: str) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._path(model_id)) + ".lock", timeout=10)

    def _read(self, model_id: str) -> dict[str, dict[str, Any]]:
        path = self._path(model_id)
        if not path.exists():
            return {}
        return read_presets_file(path)

    def _write(self, model_id: str, presets: dict[str, dict[str, Any]]) -> None:
        path = self._path(model_id)
        payload = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "presets": presets}
        with atomic_write(path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=True)


def validate_preset_name(name: str) -> str:
    """Strip and check a preset name typed by the user."""
    clean = " ".join((name or "").split())
    if not clean:
        raise PresetError("type a name for the preset first")
    if len(clean) > MAX_NAME_LENGTH:
        raise PresetError(f"preset names are at most {MAX_NAME_LENGTH} characters")
    if any(not character.isprintable() for character in clean):
        raise PresetError("preset names cannot contain control characters")
    return clean


def read_presets_file(path: Path) -> dict[str, dict[str, Any]]:
    """The presets in `path`, every size and value checked before use; a damaged or oversized
    file is one `PresetError` saying what is wrong and what to do."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"it is {size} bytes, more than the {MAX_FILE_BYTES} a list can be")
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ValueError(f"it is not an {FORMAT_NAME} file")
        presets = data.get("presets")
        if not isinstance(presets, dict) or len(presets) > MAX_PRESETS:
            raise ValueError(f"'presets' must map at most {MAX_PRESETS} names to settings")
        for name, settings in presets.items():
            if len(name) > MAX_NAME_LENGTH or not _is_settings(settings, depth=0):
                raise ValueError(f"preset {name[:MAX_NAME_LENGTH]!r} is not a set of settings")
    except (OSError, ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, ValueError) and str(error) else "unreadable"
        if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
            reason = "not valid JSON"
        raise PresetError(
            f"{path}: the presets file is damaged ({reason}); move it away to start a fresh list"
        ) from None
    return {name: dict(settings) for name, settings in presets.items()}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a setting")


def _is_settings(value: Any, *, depth: int) -> bool:
    """A dict of at most MAX_SETTINGS short keys to plain values (one nested dict: `controls`)."""
    if not isinstance(value, dict) or len(value) > MAX_SETTINGS:
        return False
    return all(
        len(key) <= MAX_TEXT and (_is_plain(item) or (depth == 0 and _is_settings(item, depth=1)))
        for key, item in value.items()
    )


def _is_plain(value: Any) -> bool:
    """None, a bool, a finite modest number, a short text, or a short list of numbers."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_NUMBER  # exact: a 400-digit integer never becomes a float
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_NUMBER
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    if isinstance(value, list | tuple):  # a tuple is written as a list
        return len(value) <= MAX_LIST and all(
            isinstance(item, int | float) and not isinstance(item, bool) and _is_plain(item)
            for item in value
        )
    return False
