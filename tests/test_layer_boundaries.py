"""The package's layer boundaries (DESIGN.md section 3, ARCHITECTURE.md), checked statically on
every source file, function-local imports included.

Third-party: lightning/hydra only in `sda.training`, gradio only in `sda.app`, typer only in
`sda.cli`, soundfile & co. only in `sda.audio`.

Inside the package, layers import only their own layer or lower ones:

    0  sda, sda.errors, sda.atomic_files      (the root: imports no other sda module)
    1  sda.audio
    2  sda.models, sda.dataset
    3  sda.library, sda.dna
    4  sda.generate
    5  sda.app, sda.cli                       (entry points)

`sda.training` stands aside: it may import layers 0-4, and only the entry points (`sda.app`,
`sda.cli`) may import it. Imports under `if TYPE_CHECKING:` count for the layers (a type from an
upper layer is still a dependency) but not for cycles (they never run). The import graph between
sda modules, module-level and function-local imports alike, has no cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
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

LAYERS = {
    "sda": 0,
    "sda.errors": 0,
    "sda.atomic_files": 0,
    "sda.disk_full": 0,
    "sda.audio": 1,
    "sda.models": 2,
    "sda.dataset": 2,
    "sda.library": 3,
    "sda.dna": 3,
    "sda.generate": 4,
    "sda.app": 5,
    "sda.cli": 5,
}
TRAINING = "sda.training"
TRAINING_MAY_IMPORT_UP_TO = 4
TRAINING_IMPORTERS = ("sda.app", "sda.cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = sorted(PACKAGE.rglob("*.py"))
MODULES = {_module_name(path): path for path in SOURCES}


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every import statement under `node` (in functions too), and whether it is TYPE_CHECKING-only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, typing_only
        elif _is_type_checking(child):
            for inner in child.body:
                yield from _import_nodes(ast.Module(body=[inner], type_ignores=[]), True)
            for inner in child.orelse:
                yield from _import_nodes(ast.Module(body=[inner], type_ignores=[]), typing_only)
        else:
            yield from _import_nodes(child, typing_only)


def _owner(source: str, name: str | None = None) -> str:
    """The sda module an import reaches: `from sda.dna import edit` -> `sda.dna.edit` (a
    submodule), `from sda.dna.codes import Codes` -> `sda.dna.codes`. A module that does not exist
    (yet) stays as written, so it never passes for its package."""
    if name is not None and f"{source}.{name}" in MODULES:
        return f"{source}.{name}"
    return source


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


@cache
def sda_imports(module: str) -> tuple[tuple[str, bool], ...]:
    """(imported sda module, TYPE_CHECKING-only) for each sda import in `module`."""
    path = MODULES[module]
    found: set[tuple[str, bool]] = set()
    for node, typing_only in _import_nodes(_parse(path)):
        if isinstance(node, ast.Import):
            targets = [_owner(alias.name) for alias in node.names]
        else:
            source = _absolute(module, path, node)
            targets = [_owner(source, alias.name) for alias in node.names]
        for target in targets:
            if (target == "sda" or target.startswith("sda.")) and target != module:
                found.add((target, typing_only))
    return tuple(sorted(found))


def _package(module: str) -> str:
    """The layer key of a module: `sda.library.bundle` -> `sda.library`; `sda.errors` itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _layer(module: str) -> int | None:
    return LAYERS.get(_package(module))


def _layer_problem(importer: str, imported: str) -> str | None:
    mine, theirs = _package(importer), _package(imported)
    if theirs == TRAINING and mine != TRAINING and mine not in TRAINING_IMPORTERS:
        return f"only {', '.join(TRAINING_IMPORTERS)} may import {TRAINING}"
    if mine == TRAINING:
        if theirs != TRAINING and (_layer(imported) or 0) > TRAINING_MAY_IMPORT_UP_TO:
            return f"{TRAINING} stands below the entry points and may not import {theirs}"
        return None
    if mine not in LAYERS or theirs not in LAYERS and theirs != TRAINING:
        return f"{mine} or {theirs} has no layer; add it to LAYERS in this test and to DESIGN.md"
    if theirs != TRAINING and LAYERS[theirs] > LAYERS[mine]:
        return f"layer {LAYERS[mine]} ({mine}) imports layer {LAYERS[theirs]} ({theirs})"
    return None


def _runtime_graph() -> dict[str, set[str]]:
    return {
        module: {imported for imported, typing_only in sda_imports(module) if not typing_only}
        for module in MODULES
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None; depth-first, iterative (no recursion limit)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return path[path.index(following) :] + [following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


def test_there_are_sources_to_check():
    assert len(SOURCES) > 10
    assert sda_imports("sda.library.add_run")  # the parser sees sda imports at all


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


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_module_imports_only_its_layer_or_lower(path: Path):
    module = _module_name(path)
    problems = [
        f"{module} imports {imported}: {problem}"
        for imported, _ in sda_imports(module)
        if (problem := _layer_problem(module, imported))
    ]
    assert not problems, "\n".join(problems)


def test_function_local_and_relative_imports_are_seen(tmp_path):
    # a cheap guard that the walker does not only see the top of a file
    imports = dict(sda_imports("sda.cli.codec"))
    assert "sda.dna.codec_bridge" in imports  # imported inside `encode`
    assert imports["sda.library"] is True  # `Bundle` for annotations only


def test_the_checks_catch_what_they_are_for():
    assert _layer_problem("sda.audio.io", "sda.library.bundle")
    assert _layer_problem("sda.library.bundle", "sda.training.errors")
    assert _layer_problem("sda.training.train_codec", "sda.cli.options")
    assert _layer_problem("sda.cli.demo", "sda.training.train_codec") is None
    assert _layer_problem("sda.generate.engine", "sda.dna.codes") is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_between_sda_modules():
    cycle = find_cycle(_runtime_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
