"""The library's index.json on its own: strict reading, atomic writing with a backup, tolerant
summaries of meta.json."""

from __future__ import annotations

import json

import pytest

from sda.atomic_files import commit_prepared
from sda.errors import SdaError
from sda.library.index import (
    INDEX_FORMAT,
    INDEX_VERSION,
    CorruptIndex,
    IndexVersionError,
    LibraryEntry,
    prepare_index,
    read_index,
    write_index,
)


def entries(*names: str) -> dict[str, LibraryEntry]:
    return {name: LibraryEntry(name=name, id=f"id-{name}", tags=["t"]) for name in names}


def test_write_then_read_round_trips_sorted_by_name_key(tmp_path):
    path = tmp_path / "index.json"
    write_index(path, entries("pads", "Drums", "bells"), backup=None)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == INDEX_FORMAT and data["version"] == INDEX_VERSION
    assert [item["name"] for item in data["bundles"]] == ["bells", "Drums", "pads"]
    assert read_index(path) == entries("pads", "Drums", "bells")


def test_a_missing_index_reads_as_none(tmp_path):
    assert read_index(tmp_path / "index.json") is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"format": "something else", "version": 1, "bundles": []}),
        json.dumps({"format": INDEX_FORMAT, "bundles": []}),
        json.dumps({"format": INDEX_FORMAT, "version": "1", "bundles": []}),
        json.dumps({"format": INDEX_FORMAT, "version": 1, "bundles": [3]}),
        json.dumps({"format": INDEX_FORMAT, "version": 1, "bundles": [{"id": "no name"}]}),
    ],
)
def test_damaged_indexes_are_never_guessed_at(tmp_path, text):
    path = tmp_path / "index.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptIndex):
        read_index(path)


def test_bytes_that_are_not_utf8_are_damaged(tmp_path):
    path = tmp_path / "index.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(CorruptIndex):
        read_index(path)


def test_an_index_from_a_newer_sda_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "index.json"
    path.write_text(json.dumps({"format": INDEX_FORMAT, "version": INDEX_VERSION + 1}))
    with pytest.raises(IndexVersionError, match="newer sda") as caught:
        read_index(path)
    assert isinstance(caught.value, SdaError)  # shown to the user, unlike CorruptIndex
    assert str(path) in str(caught.value)


def test_writing_keeps_the_previous_index_as_backup(tmp_path):
    path, backup = tmp_path / "index.json", tmp_path / "index.json.bak"
    write_index(path, entries("first"), backup=backup)
    assert not backup.exists()  # nothing to back up yet
    write_index(path, entries("first", "second"), backup=backup)
    assert read_index(backup) == entries("first")
    assert read_index(path) == entries("first", "second")


def test_a_prepared_index_changes_nothing_until_committed(tmp_path):
    path, backup, tmp = tmp_path / "index.json", tmp_path / "index.json.bak", tmp_path / ".tmp"
    write_index(path, entries("old"), backup=None)
    prepared = prepare_index(path, entries("old", "new"), backup=backup, tmp_path=tmp)
    assert read_index(path) == entries("old") and read_index(backup) == entries("old")
    commit_prepared(prepared, path)
    assert read_index(path) == entries("old", "new") and not tmp.exists()


def test_entries_summarise_meta_and_tolerate_odd_values():
    meta = {
        "id": "abc",
        "created": "2025-01-31T12:00:00+00:00",
        "tags": ["drums", 3, None],
        "has_prior": 1,
        "dataset": {"files": [{"name": "kick.wav"}, "junk", {"seconds": 2}], "seconds": 1.5},
    }
    entry = LibraryEntry.from_meta("kit", meta, added="2025-02-01")
    assert entry == LibraryEntry(
        name="kit",
        id="abc",
        created="2025-01-31T12:00:00+00:00",
        added="2025-02-01",
        tags=["drums"],
        has_prior=True,
        dataset_files=["kick.wav", ""],
        dataset_seconds=1.5,
    )
    bare = LibraryEntry.from_meta("bare", {"dataset": "not a dict", "seconds": "x"})
    assert bare.dataset_files == [] and bare.dataset_seconds is None and bare.added


def test_unknown_keys_from_a_later_version_are_ignored():
    entry = LibraryEntry.from_dict({"name": "kit", "id": "abc", "rating": 5})
    assert entry == LibraryEntry(name="kit", id="abc")
