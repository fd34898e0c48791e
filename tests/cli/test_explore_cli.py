"""`sda explore` refuses what it cannot serve with the CLI's one error, before starting anything."""

import socket

import pytest
from factories import run_cli

from sda.cli.explore import _free_port
from sda.cli.options import CommandError


def test_a_bad_port_is_refused_in_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "explore", "--library", tmp_path / "lib", "--port", "0")
    assert code != 0
    assert "port 0 is not a valid port" in err and "Traceback" not in err


def test_busy_ports_are_skipped_then_refused():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        assert _free_port("127.0.0.1", port, tries=5) != port
        with pytest.raises(CommandError, match=f"ports {port}..{port} are all busy"):
            _free_port("127.0.0.1", port, tries=1)
