"""Bundle zips: export -> import round trip, and zips that must be refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from sda.library import ArchiveError, InvalidNameError, Library
from sda.library import archive as archive_module
from sda.library.bundle import CODEC_FILE, CONFIG_FILE, META_FILE


@pytest.fixture
def library(tmp_path, tiny_bundle) -> Library:
    library = Library(tmp_path / "lib")
    library.add(tiny_bundle.path, name="kit")
    return library


@pytest.fixture
def bundle_files(tiny_bundle) -> dict[str, bytes]:
    return {
        name: (tiny_bundle.path / name).read_bytes()
        for name in (CODEC_FILE, CONFIG_FILE, META_FILE)
    }


def _zip(path: Path, members: dict[str, bytes], *, links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def _assert_untouched(library: Library) -> None:
    assert library.names() == ["kit"]
    assert not [p for p in library.root.iterdir() if p.name.startswith(".import-")]
    assert sorted(p.name for p in library.bundles_dir.iterdir()) == ["kit"]


def test_export_then_import_round_trip(library, tmp_path, tiny_bundle):
    path = library.export_zip("kit", tmp_path / "shared" / "kit")
    assert path.name == "kit.zip"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted(
            f"kit/{n}" for n in (CODEC_FILE, CONFIG_FILE, META_FILE)
        )
    with pytest.raises(ArchiveError, match="already exists"):
        library.export_zip("kit", path)
    other = Library(tmp_path / "other")
    entry = other.import_zip(path)
    assert entry.name == "kit" and entry.id == tiny_bundle.id
    assert other.load("kit").id == tiny_bundle.id
    library.import_zip(path, name="kit copy")
    assert library.names() == ["kit", "kit copy"]


def test_flat_zips_import_too(library, tmp_path, bundle_files):
    entry = library.import_zip(_zip(tmp_path / "flat.zip", bundle_files), name="flat")
    assert entry.name == "flat"


@pytest.mark.parametrize(
    ("members", "links", "message"),
    [
        ({"../evil/codec.safetensors": b"x"}, (), "outside the bundle"),
        ({"kit/../../codec.safetensors": b"x"}, (), "outside the bundle"),
        ({"/etc/codec.safetensors": b"x"}, (), "absolute"),
        ({"C:/codec.safetensors": b"x"}, (), "absolute"),
        ({"kit\\codec.safetensors": b"x"}, (), "absolute or Windows"),
        ({}, ("kit/codec.safetensors",), "symbolic link"),
        ({"kit/run.sh": b"rm -rf /"}, (), "not a bundle file"),
        ({"a/b/codec.safetensors": b"x"}, (), "nested folders"),
        ({"a/meta.json": b"{}", "b/config.json": b"{}"}, (), "more than one bundle"),
    ],
    ids=[
        "dotdot",
        "dotdot-inside",
        "absolute",
        "drive",
        "backslash",
        "symlink",
        "stranger",
        "nested",
        "two",
    ],
)
def test_unsafe_zips_are_refused(library, tmp_path, members, links, message):
    path = _zip(tmp_path / "bad.zip", members, links=links)
    with pytest.raises(ArchiveError, match=message):
        library.import_zip(path)
    _assert_untouched(library)
    assert not (tmp_path / "evil").exists()


def test_zips_without_a_valid_bundle_are_refused(library, tmp_path, bundle_files):
    truncated = {**bundle_files, CODEC_FILE: bundle_files[CODEC_FILE][:-50]}
    with pytest.raises(ArchiveError, match="does not contain a valid bundle.*truncated"):
        library.import_zip(_zip(tmp_path / "t.zip", truncated))
    missing = {k: v for k, v in bundle_files.items() if k != CODEC_FILE}
    with pytest.raises(ArchiveError, match="does not contain a valid bundle"):
        library.import_zip(_zip(tmp_path / "m.zip", missing))
    (tmp_path / "not.zip").write_bytes(b"hello")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        library.import_zip(tmp_path / "not.zip")
    with pytest.raises(ArchiveError, match="does not exist"):
        library.import_zip(tmp_path / "nowhere.zip")
    _assert_untouched(library)


def test_oversized_members_are_refused_while_unpacking(
    library, tmp_path, bundle_files, monkeypatch
):
    monkeypatch.setitem(archive_module._LIMITS, META_FILE, 100)
    with pytest.raises(ArchiveError, match="larger than"):
        library.import_zip(_zip(tmp_path / "big.zip", bundle_files))
    _assert_untouched(library)


def test_bad_names_inside_a_zip_are_refused(library, tmp_path, bundle_files):
    import json

    meta = json.loads(bundle_files[META_FILE])
    meta["name"] = "../escape"
    members = {**bundle_files, META_FILE: json.dumps(meta).encode()}
    with pytest.raises(InvalidNameError):
        library.import_zip(_zip(tmp_path / "n.zip", members))
    _assert_untouched(library)
    assert not (library.root.parent / "escape").exists()
