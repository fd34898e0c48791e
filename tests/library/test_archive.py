"""Bundle zips: export -> import round trip, and zips that must be refused."""

from __future__ import annotations

import json
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


def _written(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, bundle_files):
    """8 MiB of zeros packed into a few KiB: refused from the zip's directory, nothing written."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CONFIG_FILE, bundle_files[CONFIG_FILE])
        archive.writestr(META_FILE, bundle_files[META_FILE])
        archive.writestr(CODEC_FILE, bytes(8 * 1024**2))
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError, match="zip bomb"):
        archive_module.extract_bundle_zip(path, dest)
    assert _written(dest) < 1024**2


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The zip `data` with `member`'s uncompressed size in the central directory set to `size`."""
    at = data.index(b"PK\x01\x02")
    while True:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length].decode() == member:
            return data[: at + 24] + size.to_bytes(4, "little") + data[at + 28 :]
        at = data.index(b"PK\x01\x02", at + 4)


@pytest.mark.parametrize("size", [2**31, 900 * 1024**2])
def test_declared_sizes_that_lie_are_refused_before_writing(tmp_path, bundle_files, size):
    honest = _zip(tmp_path / "honest.zip", bundle_files).read_bytes()
    path = tmp_path / "liar.zip"
    path.write_bytes(_declare_size(honest, CODEC_FILE, size))
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError, match="larger than|zip bomb|unpacks to"):
        archive_module.extract_bundle_zip(path, dest)
    assert _written(dest) < 1024**2


def test_a_weights_header_that_lies_is_refused_before_its_data(tmp_path, bundle_files):
    header = json.dumps({"w": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4]}})
    weights = len(header).to_bytes(8, "little") + header.encode() + bytes(4)
    path = _zip(tmp_path / "w.zip", {**bundle_files, CODEC_FILE: weights})
    with pytest.raises(ArchiveError, match="declares shape"):
        archive_module.extract_bundle_zip(path, tmp_path / "dest")
    assert not (tmp_path / "dest" / CODEC_FILE).exists()


def test_a_huge_model_config_is_refused_before_its_weights_are_unpacked(tmp_path, bundle_files):
    config = json.loads(bundle_files[CONFIG_FILE])
    config["codec"]["encoder_dim"] = 16_384
    config["codec"]["encoder_blocks"] = 256
    members = {**bundle_files, CONFIG_FILE: json.dumps(config).encode()}
    path = _zip(tmp_path / "c.zip", members)
    with pytest.raises(ArchiveError, match="encoder_"):
        archive_module.extract_bundle_zip(path, tmp_path / "dest")
    assert not (tmp_path / "dest" / CODEC_FILE).exists()
