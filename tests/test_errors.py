"""Every exception sda defines is an `SdaError` (printed as one line to a musician), found by
reading every module's source, so a new error class cannot slip past the rule unnoticed."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import sda

PACKAGE = Path(sda.__file__).parent
ROOT_ERROR = "SdaError"

# Exceptions that never reach a person: raised and caught inside one package. Each needs a reason.
INTERNAL_SIGNALS = {
    "CorruptIndex": "sda.library recovers the index from its backup or a folder scan",
}


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # errors.SdaError, click.ClickException
        return node.attr
    return None


def classes_in(folder: Path) -> dict[str, list[tuple[str, list[str]]]]:
    """Class name -> [(where, base names)] for every class statement under `folder`, nested too."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [name for name in map(_base_name, node.bases) if name]
                where = f"{path.relative_to(folder.parent)}:{node.lineno}"
                found.setdefault(node.name, []).append((where, bases))
    return found


def _builtin_exception(name: str) -> type | None:
    value = getattr(builtins, name, None)
    return value if isinstance(value, type) and issubclass(value, BaseException) else None


def errors_outside_the_root(classes: dict[str, list[tuple[str, list[str]]]]) -> list[str]:
    """`where: Class(bases)` for each exception class in `classes` (from `classes_in`) that does
    not derive from SdaError; a base from another library counts as an exception if it says so
    in its name (…Error, …Exception)."""

    def lineage(name: str, seen: frozenset[str] = frozenset()) -> tuple[bool, bool]:
        """(is an exception, derives from SdaError)."""
        if name == ROOT_ERROR:
            return True, True
        if name in seen:
            return False, False
        if name in classes:
            results = [lineage(base, seen | {name}) for _, bases in classes[name] for base in bases]
            return any(r[0] for r in results), any(r[1] for r in results)
        builtin = _builtin_exception(name)
        if builtin is not None:
            return not issubclass(builtin, Warning), False  # warnings are not errors
        return name.endswith(("Error", "Exception")), False

    offenders = []
    for name, definitions in classes.items():
        is_exception, rooted = lineage(name)
        if is_exception and not rooted and name not in INTERNAL_SIGNALS:
            offenders += [f"{where}: {name}({', '.join(bases)})" for where, bases in definitions]
    return sorted(offenders)


@pytest.fixture(scope="module")
def sda_classes() -> dict[str, list[tuple[str, list[str]]]]:
    return classes_in(PACKAGE)


def test_every_sda_exception_is_an_sda_error(sda_classes) -> None:
    offenders = errors_outside_the_root(sda_classes)
    assert offenders == [], "derive these from sda.errors.SdaError (or a family of it):\n" + "\n".join(offenders)  # fmt: skip


def test_the_known_families_are_found(sda_classes) -> None:
    classes = sda_classes
    assert ROOT_ERROR in classes and len(classes[ROOT_ERROR]) == 1  # one root
    for family in ("AudioFileError", "BundleError", "CodesError", "DatasetError", "TrainingError"):
        assert family in classes, family


def test_internal_signals_are_still_defined_and_caught(sda_classes) -> None:
    """An allowance for a class that is gone (or no longer caught anywhere) must not linger."""
    classes = sda_classes
    sources = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    for name in INTERNAL_SIGNALS:
        assert name in classes, f"{name} no longer exists: drop it from INTERNAL_SIGNALS"
        assert f"except {name}" in sources, f"{name} is raised but never caught inside sda"


def test_the_check_catches_a_stray_exception(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "errors.py").write_text("class SdaError(Exception):\n    pass\n")
    (package / "good.py").write_text(
        "from pkg import errors\n"
        "class FamilyError(errors.SdaError): ...\n"
        "class MemberError(FamilyError): ...\n"
        "class Plain: ...\n"
        "class Noted(UserWarning): ...\n"
    )
    (package / "bad.py").write_text(
        "import click\n"
        "class Stray(ValueError): ...\n"
        "class Inherits(Stray): ...\n"
        "class Foreign(click.ClickException): ...\n"
        "def f():\n"
        "    class Hidden(RuntimeError): ...\n"
    )
    offenders = errors_outside_the_root(classes_in(package))
    names = sorted(line.split(": ", 1)[1].split("(")[0] for line in offenders)
    assert names == ["Foreign", "Hidden", "Inherits", "Stray"]
    assert all(line.startswith("pkg/bad.py:") for line in offenders)


@pytest.mark.parametrize("name", ["ValueError", "OSError", "KeyboardInterrupt"])
def test_builtin_exceptions_are_recognised(name: str) -> None:
    assert _builtin_exception(name) is not None
    assert _builtin_exception("print") is None
