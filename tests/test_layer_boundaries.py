"""The package's layer boundaries (DESIGN.md section 3), checked statically on every source file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sda"

# top-level module -> the only sda sub-packages allowed to import it
ALLOWED_IMPORTERS = {
    "lightning": ("sda.training",),
    "pytorch_lightning": ("sda.training",),
    "hydra": ("sda.training",),
    "omegaconf": ("sda.training",),
    "gradio": ("sda.app",),
    "typer": ("sda.cli",),
    "soundfile": ("sda.audio",),
    "mutagen": ("sda.audio",),
    "sofar": ("sda.audio",),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_there_are_sources_to_check():
    assert len(SOURCES) > 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_module_respects_layer_boundaries(path: Path):
    module = _module_name(path)
    for imported in _imported_top_levels(path):
        allowed = ALLOWED_IMPORTERS.get(imported)
        if allowed is None:
            continue
        assert any(module == prefix or module.startswith(prefix + ".") for prefix in allowed), (
            f"{module} imports {imported}, which only {', '.join(allowed)} may import"
        )
