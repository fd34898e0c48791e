"""No function in the package is longer than a reader can hold in mind (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sda"
MAX_LINES = 80


def long_functions(root: Path, limit: int) -> list[str]:
    """`path:line name (N lines)` for every function or method over `limit` lines below root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(
                        f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)"
                    )
    return found


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "long.py").write_text(f"def too_long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert long_functions(tmp_path, MAX_LINES) == [f"{tmp_path.name}/long.py:1 too_long (81 lines)"]


def test_no_function_in_sda_is_over_80_lines() -> None:
    assert long_functions(PACKAGE, MAX_LINES) == []
