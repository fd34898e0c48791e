"""Library tab logic: list, search, describe, rename, tag, delete and import models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sda.app.errors import AppError
from sda.app.model_words import training_lines
from sda.app.served_files import public_copy
from sda.app.state import AppContext

LIBRARY_COLUMNS = ["name", "tags", "generates", "files", "seconds", "created"]
MAX_ZIP_BYTES = 2 * 1024**3


LibraryTabError = AppError  # the explorer's one error (sda.app.errors), by this tab's older name


def library_rows(ctx: AppContext, query: str = "") -> list[list[Any]]:
    """One row per bundle matching `query` (name, tag, dataset file name or date)."""
    entries = ctx.library.search(query or "")
    return [
        [
            entry.name,
            ", ".join(entry.tags),
            "yes" if entry.has_prior else "no",
            len(entry.dataset_files),
            round(entry.dataset_seconds, 1) if entry.dataset_seconds is not None else "",
            entry.created[:10],
        ]
        for entry in entries
    ]


def model_details(ctx: AppContext, name: str | None) -> tuple[str, str | None]:
    """A markdown description of a bundle and its preview file (None when it has none)."""
    if not name:
        return "Select a model in the table to see its details.", None
    meta = ctx.library.show(name)
    lines = [f"### {name}"]
    if meta.get("tags"):
        lines.append("Tags: " + ", ".join(f"`{t}`" for t in meta["tags"]))
    lines.append(f"Created {str(meta.get('created', '?'))[:19]} · id `{meta.get('id', '?')}`")
    lines.append(
        "Prior: **yes**, it can generate"
        if meta.get("has_prior")
        else "Prior: no (codec only: encode, edit, decode)"
    )
    dataset = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
    files = [f for f in dataset.get("files", []) if isinstance(f, dict)]
    if dataset:
        seconds = dataset.get("seconds")
        seconds_text = f", {float(seconds):.1f} s" if isinstance(seconds, int | float) else ""
        count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
        lines.append(f"**Dataset**: {count}{seconds_text}")
        shown = ", ".join(str(f.get("name", "?")) for f in files[:12])
        if shown:
            lines.append(shown + (" …" if len(files) > 12 else ""))
    lines.extend(training_lines(meta.get("training") or meta.get("metrics")))
    versions = meta.get("versions")
    if isinstance(versions, dict) and versions:
        made = " · ".join(f"{k} {_short(v)}" for k, v in versions.items())
        lines.append(f"Made with {made}")
    preview = Path(meta["path"]) / "preview.ogg" if meta.get("path") else None
    # Served from a copy in the work folder: the library itself is never reachable by the browser.
    return "\n\n".join(lines), public_copy(ctx, preview)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_short(v)}" for k, v in list(value.items())[:6])
    return str(value)[:80]


def rename_model(ctx: AppContext, old: str | None, new: str) -> str:
    if not old:
        raise LibraryTabError("select the model to rename in the table first")
    entry = ctx.library.rename(old, (new or "").strip())
    ctx.models.forget(old)
    return entry.name


def tag_model(ctx: AppContext, name: str | None, add: str = "", remove: str = "") -> list[str]:
    """Add and remove comma-separated tags; returns the model's tags afterwards."""
    if not name:
        raise LibraryTabError("select a model in the table first")
    entry = ctx.library.tag(name, add=_split(add), remove=_split(remove))
    return list(entry.tags)


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def delete_model(ctx: AppContext, name: str | None, confirmation: str) -> None:
    """Delete only when the user typed the model's exact name to confirm."""
    if not name:
        raise LibraryTabError("select the model to delete in the table first")
    if (confirmation or "").strip() != name:
        raise LibraryTabError(f'type the name "{name}" in the confirmation box to delete it')
    ctx.library.delete(name)
    ctx.models.forget(name)


def import_zip(ctx: AppContext, path: str | None) -> str:
    """Add a bundle shared as a zip; returns its name in the library."""
    if not path:
        raise LibraryTabError("choose a bundle .zip file to import")
    if Path(path).suffix.lower() != ".zip":
        raise LibraryTabError(
            f"{Path(path).name} is not a .zip file; export bundles with `sda library export`"
        )
    if Path(path).stat().st_size > MAX_ZIP_BYTES:
        raise LibraryTabError("that zip is larger than 2 GB, which no sda bundle should be")
    return ctx.library.import_zip(path).name
