"""Every command's --help, found by walking the real Typer app: an example to copy, every option
and argument listed, and every group listing its commands. New commands are checked as they land."""

from __future__ import annotations

import re

import pytest
from factories import run_cli
from typer.main import get_command

from sda.cli import app


def _walk(command, path: tuple[str, ...] = ()):
    """(path, click command) for every group and leaf command under `command`, hidden ones skipped."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(get_command(app)))
LEAVES = [(path, command) for path, command in COMMANDS if not getattr(command, "commands", None)]
GROUPS = [(path, command) for path, command in COMMANDS if getattr(command, "commands", None)]


def _is_deprecated(command) -> bool:
    return bool(command.deprecated) or (command.help or "").lstrip().startswith("Deprecated")


def _help(capsys, monkeypatch, path: tuple[str, ...]) -> str:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that nothing is cut
    code, out, err = run_cli(capsys, *path, "--help")
    assert code == 0 and not err, (path, err)
    return " ".join(out.split())


def test_the_walk_finds_the_commands_people_use() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"encode", "decode", "reconstruct", "generate", "data inspect", "library list"} <= names
    assert len(LEAVES) >= 20 and ("library",) in [path for path, _ in GROUPS]


@pytest.mark.parametrize("path,command", LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_help_shows_an_example_and_every_option(capsys, monkeypatch, path, command) -> None:
    out = _help(capsys, monkeypatch, path)
    if _is_deprecated(command):  # an old spelling: it must name the command that replaced it
        replacement = re.search(r"Deprecated: .*?`sda ([a-z ]+)`", out)
        assert replacement, f"sda {' '.join(path)} --help should name its replacement"
        assert tuple(replacement.group(1).split()) in {p for p, _ in LEAVES}
    else:
        assert "Example: sda " + " ".join(path) in out, "the help needs an example to copy"
    visible = [param for param in command.params if not getattr(param, "hidden", False)]
    for param in visible:
        if param.param_type_name == "option":
            for flag in (opt for opt in param.opts if opt.startswith("--")):
                assert flag in out, f"sda {' '.join(path)} --help does not list {flag}"
        else:
            assert param.name in out, f"sda {' '.join(path)} --help does not name {param.name}"


@pytest.mark.parametrize("path,group", GROUPS, ids=[" ".join(p) or "sda" for p, _ in GROUPS])
def test_group_help_lists_its_commands(capsys, monkeypatch, path, group) -> None:
    out = _help(capsys, monkeypatch, path)
    for name, sub in group.commands.items():
        if not sub.hidden:
            assert f" {name} " in f" {out} ", f"sda {' '.join(path)} --help does not list {name}"
