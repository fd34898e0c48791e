"""Bundle name validation and close-name suggestions."""

from __future__ import annotations

import pytest

from sda.library.names import (
    MAX_NAME_LENGTH,
    InvalidNameError,
    did_you_mean,
    name_key,
    suggest_names,
    validate_name,
)


@pytest.mark.parametrize("name", ["my kit", "Drums_01", "pads-v2 (warm)", "Écho", "take 3.1", "a"])
def test_good_names_pass_and_are_trimmed(name):
    assert validate_name(f"  {name} ") == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "path"),
        ("a/b", "path"),
        ("a\\b", "path"),
        ("..", "path"),
        ("x..y", "path"),
        ("/etc/passwd", "path"),
        ("", "empty"),
        ("   ", "empty"),
        (".hidden", "start with a letter"),
        ("-rf", "start with a letter"),
        ("x" * (MAX_NAME_LENGTH + 1), "at most"),
        ("\U0001d400" * MAX_NAME_LENGTH, "bytes on disk"),  # 64 letters, 256 bytes in UTF-8
        ("bad\x00name", "contains"),
        ("tab\tname", "contains"),
        ("what?", "contains"),
        ("a:b", "contains"),
        ("name.", "dot"),
        ("CON", "reserved"),
        ("lpt1.txt", "reserved"),
    ],
)
def test_bad_names_are_refused_with_a_reason(name, reason):
    with pytest.raises(InvalidNameError, match=reason):
        validate_name(name)


def test_name_key_ignores_case_and_outer_space():
    assert name_key(" My Kit ") == name_key("my kit")


def test_suggestions_find_typos_case_and_partial_names():
    known = ["my kit", "drones", "bells v2", "other"]
    assert suggest_names("my kitt", known)[0] == "my kit"
    assert suggest_names("DRONES", known)[0] == "drones"
    assert "bells v2" in suggest_names("bells", known)
    assert suggest_names("zzzzzz", known) == []
    assert did_you_mean("drone", known) == ' Did you mean "drones"?'
    assert did_you_mean("zzzzzz", known) == ""


def test_a_long_name_in_another_script_fits_a_folder_name(tmp_path):
    name = validate_name("звук " * 12)  # 59 characters, 108 bytes
    (tmp_path / f".{name}.tmp-1a2b3c4d").mkdir()
