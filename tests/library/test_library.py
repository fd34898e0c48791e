"""The library: operations, a damaged index, crashes mid-way, and concurrent writers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from sda.library import (
    InvalidNameError,
    Library,
    LibraryError,
    UnknownBundleError,
    default_library_root,
    resolve_bundle,
)
from sda.library.library import BACKUP_FILE, INDEX_FILE


@pytest.fixture
def library(tmp_path, tiny_bundle) -> Library:
    """A fresh library with three copies of the tiny bundle: "drums", "pads", "bells v2"."""
    library = Library(tmp_path / "lib")
    for name, tags in (("drums", ["perc"]), ("pads", ["warm", "slow"]), ("bells v2", [])):
        library.add(tiny_bundle.path, name=name, tags=tags)
    return library


def test_add_list_show_and_load(library, tiny_bundle):
    assert library.names() == ["bells v2", "drums", "pads"]
    entry = library.get("PADS")  # names match regardless of case
    assert (
        entry.name == "pads"
        and entry.tags == ["test", "warm", "slow"]
        and entry.id == tiny_bundle.id
    )
    shown = library.show("drums")
    assert shown["name"] == "drums" and "codec.safetensors" in shown["files"]
    assert library.load("drums").id == tiny_bundle.id
    index = json.loads(library.index_path.read_text())
    assert index["format"] == "sda-library" and len(index["bundles"]) == 3
    assert tiny_bundle.path.exists()  # add copies; the source is untouched


def test_search_by_name_tag_dataset_file_and_date(library):
    assert [e.name for e in library.search("bell")] == ["bells v2"]
    assert [e.name for e in library.search("WARM")] == ["pads"]
    assert [e.name for e in library.search(tags=["perc"])] == ["drums"]
    assert len(library.search("pluck_0")) == 3  # a dataset file name
    today = library.get("drums").created[:10]
    assert len(library.search(today)) == 3
    assert len(library.search(since=today, until=today)) == 3
    assert library.search(until="2000-01-01") == []
    with pytest.raises(LibraryError, match="not a date"):
        library.search(since="last week")


def test_rename_tag_delete(library):
    library.rename("drums", "Drum Kit")
    assert "Drum Kit" in library.names() and (library.bundles_dir / "Drum Kit").is_dir()
    assert library.show("drum kit")["name"] == "Drum Kit"
    library.rename("Drum Kit", "drum kit")  # a case-only rename works too
    assert "drum kit" in library.names()
    library.tag("pads", add=["ambient"], remove=["slow"])
    assert library.get("pads").tags == ["test", "warm", "ambient"]
    assert json.loads((library.bundles_dir / "pads" / "meta.json").read_text())["tags"] == [
        "test",
        "warm",
        "ambient",
    ]
    library.delete("pads")
    assert library.names() == ["bells v2", "drum kit"]
    assert not (library.bundles_dir / "pads").exists()
    assert not list(library.root.glob(".trash-*"))


def test_duplicate_and_invalid_names_are_refused(library, tiny_bundle):
    with pytest.raises(LibraryError, match="already in the library"):
        library.add(tiny_bundle.path, name="DRUMS")
    with pytest.raises(LibraryError, match="already exists"):
        library.rename("pads", "Drums")
    (library.bundles_dir / "stranger").mkdir()  # a folder that is not a bundle is never replaced
    (library.bundles_dir / "stranger" / "notes.txt").write_text("mine")
    with pytest.raises(LibraryError, match="already exists"):
        library.rename("pads", "stranger")
    shutil.rmtree(library.bundles_dir / "stranger")
    for bad in ("../x", "a/b"):
        with pytest.raises(InvalidNameError, match="looks like a path"):
            library.add(tiny_bundle.path, name=bad)
        with pytest.raises(InvalidNameError):
            library.rename("pads", bad)
    assert library.names() == ["bells v2", "drums", "pads"]
    assert not list(library.root.glob(".staging-*"))
    assert sorted(p.name for p in library.bundles_dir.iterdir()) == ["bells v2", "drums", "pads"]


def test_unknown_names_suggest_close_ones(library):
    with pytest.raises(UnknownBundleError, match='Did you mean "drums"'):
        library.get("drum")
    with pytest.raises(UnknownBundleError, match='Did you mean "bells v2"'):
        resolve_bundle("bels v2", library)
    with pytest.raises(UnknownBundleError, match="sda library list"):
        library.delete("zzz")


def test_resolve_by_name_or_path(library, tiny_bundle, tmp_path, monkeypatch):
    assert resolve_bundle("pads", library).name == "pads"
    assert resolve_bundle(tiny_bundle.path, library).id == tiny_bundle.id
    assert resolve_bundle(str(library.bundles_dir / "drums"), library).name == "drums"
    monkeypatch.chdir(library.bundles_dir)  # a bare folder name that is not a library name
    assert resolve_bundle("drums", Library(tmp_path / "other")).name == "drums"


def test_index_that_is_not_json_is_recovered_from_backup(library):
    good = library.index_path.read_text()
    library.index_path.write_text("{ this is not json")
    fresh = Library(library.root)
    assert fresh.names() == ["bells v2", "drums", "pads"]
    assert fresh.notice and "damaged" in fresh.notice and "backup" in fresh.notice
    kept = list(library.root.glob(f"{INDEX_FILE}.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ this is not json"  # never thrown away
    assert json.loads(library.index_path.read_text())["bundles"]  # a valid index again
    assert len(json.loads(good)["bundles"]) == 3


def test_index_and_backup_both_damaged_are_rebuilt_from_bundle_folders(library):
    library.index_path.write_bytes(b"\x00\xff garbage")
    (library.root / BACKUP_FILE).write_text("[]")
    fresh = Library(library.root)
    assert fresh.names() == ["bells v2", "drums", "pads"]
    assert fresh.get("pads").tags == ["test", "warm", "slow"]  # tags live in each meta.json too
    assert "bundle folders" in fresh.notice


def test_missing_index_and_crash_leftovers(library, tiny_bundle):
    library.index_path.unlink()
    assert library.names() == ["bells v2", "drums", "pads"]
    # A crash after the folder moved in but before the index was written: the bundle is not lost.
    shutil.copytree(tiny_bundle.path, library.bundles_dir / "orphan")
    assert "orphan" in library.names()
    # Half-done staging folders and strangers are ignored, never deleted.
    (library.root / ".staging-123").mkdir()
    (library.bundles_dir / "not a bundle").mkdir()
    assert library.names() == ["bells v2", "drums", "orphan", "pads"]
    assert library.rebuild_index() == 4
    assert (library.bundles_dir / "not a bundle").exists()


def test_a_busy_library_says_so(library, tiny_bundle):
    from filelock import FileLock

    with FileLock(str(library.root / ".lock")):
        impatient = Library(library.root, lock_timeout=0.2)
        with pytest.raises(LibraryError, match="busy"):
            impatient.add(tiny_bundle.path, name="late")
        assert impatient.names() == ["bells v2", "drums", "pads"]  # reading needs no lock


def test_default_root_flag_then_env_then_user_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SDA_LIBRARY", str(tmp_path / "env"))
    assert default_library_root(tmp_path / "flag") == tmp_path / "flag"
    assert default_library_root() == tmp_path / "env"
    monkeypatch.delenv("SDA_LIBRARY")
    assert "sda" in str(default_library_root())


_WRITER = textwrap.dedent(
    """
    import sys
    from sda.library import Library
    library = Library(sys.argv[1])
    for i in range(50):
        library.add(sys.argv[2], name=f"{sys.argv[3]}-{i:02d}")
    """
)


@pytest.mark.slow
def test_two_processes_adding_50_bundles_each_lose_nothing(tmp_path, tiny_bundle):
    root = tmp_path / "shared"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(root), str(tiny_bundle.path), who])
        for who in ("a", "b")
    ]
    for writer in writers:
        assert writer.wait(timeout=300) == 0
    library = Library(root)
    names = library.names()
    assert len(names) == 100 and len(set(names)) == 100
    index = json.loads(library.index_path.read_text())
    assert len(index["bundles"]) == 100  # in the file itself, not only rebuilt from the folders
    assert len(list(library.bundles_dir.iterdir())) == 100
    assert not list(root.glob(".staging-*"))
