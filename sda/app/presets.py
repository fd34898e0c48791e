"""Slider presets per model, kept in the library folder as `presets/<bundle id>.json`.

Presets are keyed by the bundle id (the codec fingerprint) so they survive renaming a model.
Writes are atomic (temp file + fsync + os.replace) and serialised with a file lock.
"""

from __future__ import annotations

import json
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
        json.dumps(settings)  # fail here, not halfway through writing, if a value is not JSON
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
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            presets = data["presets"]
            if data.get("format") != FORMAT_NAME or not isinstance(presets, dict):
                raise ValueError("wrong format")
        except (OSError, ValueError, KeyError, TypeError):
            raise PresetError(
                f"{path}: the presets file is damaged; move it away to start a fresh list"
            ) from None
        return {str(key): dict(value) for key, value in presets.items() if isinstance(value, dict)}

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
