"""A full disk during every library operation: one clear `DiskFullError`, nothing half applied.

The disk fills at the k-th write of an operation (a faked ENOSPC), for every k until the operation
gets through; or `shutil.disk_usage` reports too little space for what it is about to write.
"""

from __future__ import annotations

import errno
import functools
import importlib
import os
import shutil
from collections import namedtuple
from pathlib import Path

import factories
import pytest

from sda.library import Library, add_run
from sda.library.bundle import META_FILE, check_bundle_folder
from sda.library.disk_space import DiskFullError
from sda.library.index import read_index

# Where writes reach the disk: file data is flushed by fsync, copies go through copyfile.
WRITES = ((os, "fsync"), (os, "mkdir"), (shutil, "copyfile"))
ROOT_FILES = {".lock", "index.json", "index.json.bak", "bundles"}
Usage = namedtuple("Usage", "total used free")


def _fails_at(real, seen: list[int], write: int):
    def wrapper(*args, **kwargs):
        seen[0] += 1
        if seen[0] == write:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    return wrapper


def fill_disk_at(monkeypatch, write: int) -> list[int]:
    """The `write`-th write from now fails with ENOSPC (once, like a disk that fills up); the
    returned list holds the number of writes seen so far."""
    seen = [0]
    for module, name in WRITES:
        monkeypatch.setattr(module, name, _fails_at(getattr(module, name), seen, write))
    return seen


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_bundle, tiny_models) -> Path:
    """A library ("drums", "pads") plus, outside it, a bundle folder, a zip and a codec run."""
    case = tmp_path_factory.mktemp("disk_full_template")
    library = Library(case / "lib")
    for name in ("drums", "pads"):
        library.add(tiny_bundle.path, name=name)
    shutil.copytree(tiny_bundle.path, case / "outside" / "moved")
    library.export_zip("pads", case / "outside" / "pads.zip")
    factories.write_codec_run(case / "outside" / "run", tiny_models[0])
    return case


OPERATIONS = {
    "add": lambda lib, out: lib.add(out / "moved", name="copied"),
    "add by moving": lambda lib, out: lib.add(out / "moved", name="moved", move=True),
    "rename": lambda lib, out: lib.rename("drums", "Drum Kit"),
    "tag": lambda lib, out: lib.tag("drums", add=["live"]),
    "delete": lambda lib, out: lib.delete("pads"),
    "import": lambda lib, out: lib.import_zip(out / "pads.zip", name="shared"),
    "export a zip": lambda lib, out: lib.export_zip("drums", out / "zips" / "drums.zip"),
    "sda library add": lambda lib, out: add_run(
        out / "run", name="fresh", library=lib, preview=False
    ),
}


def assert_consistent(root: Path) -> list[str]:
    """No hidden leftovers, the index file lists the folders, meta.json names match; the names."""
    names = Library(root).names()
    assert sorted(p.name for p in root.iterdir()) == sorted(ROOT_FILES)
    assert sorted(p.name for p in (root / "bundles").iterdir()) == names
    assert sorted(read_index(root / "index.json")) == names
    for name in names:
        _, meta = check_bundle_folder(root / "bundles" / name)
        assert meta["name"] == name and meta["tags"] == read_index(root / "index.json")[name].tags
        assert not [p for p in (root / "bundles" / name).iterdir() if p.name.startswith(".")]
    return names


def assert_unchanged(case: Path) -> None:
    """The library and the folders around it exactly as before the operation."""
    assert assert_consistent(case / "lib") == ["drums", "pads"]
    assert Library(case / "lib").get("drums").tags == ["test"]
    check_bundle_folder(case / "outside" / "moved")  # a folder to be moved in is still there
    assert not (case / "outside" / "zips").exists() or not list(
        (case / "outside" / "zips").iterdir()
    )


def run_with_full_disk(kind: str, case: Path, monkeypatch, write: int) -> tuple[bool, int]:
    """(whether it reported a full disk, how many writes it made)."""
    library = Library(case / "lib")
    library.names()  # opened before the disk fills
    with monkeypatch.context() as patch:
        count = fill_disk_at(patch, write)
        try:
            OPERATIONS[kind](library, case / "outside")
        except DiskFullError as error:
            assert str(error).startswith("disk full: need ~")
            return True, count[0]
    return False, count[0]


@pytest.fixture
def runs_read_once(monkeypatch):
    """`sda library add` reads its training runs once per test: reading changes nothing on disk."""
    module = importlib.import_module("sda.library.add_run")
    monkeypatch.setattr(module, "_read_runs", functools.cache(module._read_runs))


@pytest.mark.parametrize("kind", list(OPERATIONS))
def test_a_disk_that_fills_at_any_write_changes_nothing(
    kind, template, tmp_path, monkeypatch, runs_read_once
):
    shutil.copytree(template, tmp_path / "clean")
    _, writes = run_with_full_disk(kind, tmp_path / "clean", monkeypatch, write=0)
    refused = 0
    for write in range(1, writes + 1):
        case = tmp_path / f"write{write}"
        shutil.copytree(template, case)
        full, _ = run_with_full_disk(kind, case, monkeypatch, write)
        if full:
            assert_unchanged(case)
            refused += 1
        else:  # a write whose failure does not matter (e.g. syncing a folder): done in full
            assert_consistent(case / "lib")
        shutil.rmtree(case)
    assert refused > 2, "the operation wrote nothing?"


@pytest.mark.parametrize("kind", ["add", "import", "export a zip", "sda library add"])
def test_too_little_free_space_is_refused_before_writing(kind, template, tmp_path, monkeypatch):
    shutil.copytree(template, tmp_path / "case")
    library = Library(tmp_path / "case" / "lib")
    library.names()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(DiskFullError, match=r"disk full: need ~\d+ MB at .* \(1 MB free\)"):
        OPERATIONS[kind](library, tmp_path / "case" / "outside")
    assert_unchanged(tmp_path / "case")


def test_a_full_disk_inside_the_safetensors_writer_is_recognised(template, tmp_path, monkeypatch):
    from safetensors import SafetensorError

    def full(*args, **kwargs):
        raise SafetensorError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No '
            'space left on device" })'
        )

    shutil.copytree(template, tmp_path / "case")
    library = Library(tmp_path / "case" / "lib")
    monkeypatch.setattr("safetensors.torch.save_file", full)
    with pytest.raises(DiskFullError, match="disk full"):
        OPERATIONS["sda library add"](library, tmp_path / "case" / "outside")
    assert_unchanged(tmp_path / "case")


def test_meta_names_are_set_by_the_doctor(template, tmp_path):
    """An older sda's late crash in a rename left meta.json with the old name."""
    root = tmp_path / "lib"
    shutil.copytree(template / "lib", root)
    path = root / "bundles" / "drums" / META_FILE
    path.write_text(path.read_text().replace('"name": "drums"', '"name": "old drums"'))
    report = Library(root).doctor()
    assert any("old drums" in line for line in report.repaired)
    assert '"name": "drums"' in path.read_text()
