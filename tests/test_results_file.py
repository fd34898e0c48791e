"""experiments/results_file.py: each benchmark's entry lands at the end of its own section."""

from __future__ import annotations

import pytest
from factories import repo_script

BEFORE = "# Results\n\n## Codec\n\nold codec entry\n\n## Prior\n\nold prior entry\n"


@pytest.fixture
def results_file(monkeypatch):
    """experiments/results_file.py loaded as a module, as the benchmarks import it."""
    return repo_script("experiments/results_file.py", monkeypatch)


def test_an_entry_lands_at_the_end_of_its_section_not_of_the_file(results_file, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(BEFORE)
    results_file.record("Codec", "\nnew codec entry\n\n", path)
    assert path.read_text() == (
        "# Results\n\n## Codec\n\nold codec entry\n\nnew codec entry\n\n"
        "## Prior\n\nold prior entry\n"
    )


def test_a_missing_section_is_created_at_the_end_and_the_rest_is_untouched(results_file, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_bytes(BEFORE.encode())
    results_file.record("Stereo", "| a | b |\n| --- | --- |", path)
    after = path.read_bytes()
    assert after.startswith(BEFORE.encode())
    assert after[len(BEFORE) :] == b"\n## Stereo\n\n| a | b |\n| --- | --- |\n"


def test_records_in_a_row_keep_their_order_and_leave_other_sections_byte_identical(
    results_file, tmp_path
):
    path = tmp_path / "RESULTS.md"
    before = "## Codec\r\n\r\ncrlf entry\r\n\r\n## Prior\n\nold prior entry\n"
    path.write_bytes(before.encode())
    results_file.record("Codec", "first", path)
    results_file.record("Codec", "second", path)
    after = path.read_bytes().decode()
    codec, prior = after.split("## Prior")
    assert codec == "## Codec\r\n\r\ncrlf entry\r\n\nfirst\n\nsecond\n\r\n"
    assert prior == "\n\nold prior entry\n"


def test_a_missing_file_is_created_with_the_section(results_file, tmp_path):
    path = tmp_path / "RESULTS.md"
    results_file.record("App", "entry", path)
    assert path.read_text() == "## App\n\nentry\n"
    assert [p.name for p in tmp_path.iterdir()] == ["RESULTS.md"]  # no temp file left behind


def test_a_section_whose_name_starts_another_is_not_mistaken_for_it(results_file, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("## App memory\n\nmemory entry\n")
    results_file.record("App", "app entry", path)
    assert path.read_text() == "## App memory\n\nmemory entry\n\n## App\n\napp entry\n"
