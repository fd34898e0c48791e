"""`sda library ...` (and the deprecated `sda export`) end to end on copies of the tiny bundle."""

from __future__ import annotations

import json
import zipfile

import factories
import pytest
from factories import run_cli

from sda.library import Library


@pytest.fixture
def lib(tmp_path, tiny_bundle) -> Library:
    library = Library(tmp_path / "lib")
    library.add(tiny_bundle.path, name="drums", tags=["perc"])
    library.add(tiny_bundle.path, name="pads")
    return library


@pytest.fixture
def sda(capsys, lib):
    def call(*args, stdin: str = ""):
        code, out, err = run_cli(capsys, *args, "--library", lib.root, stdin=stdin)
        assert "Traceback" not in err
        return code, " ".join(out.split()), " ".join(err.split())

    return call


def test_add_then_list_show_search(sda, lib, tiny_models, tiny_audio_dir, tmp_path):
    run = factories.write_codec_run(tmp_path / "run", tiny_models[0], dataset_dir=tiny_audio_dir)
    code, out, err = sda("library", "add", run, "--name", "my kit", "--tag", "new", "--no-preview")
    assert code == 0, err
    assert "added my kit" in out and (lib.bundles_dir / "my kit" / "codec.safetensors").is_file()
    assert "deprecated" not in err
    code, out, _ = sda("library", "list")
    assert code == 0 and all(name in out for name in ("drums", "pads", "my kit"))
    code, out, _ = sda("library", "list", "--json")
    assert sorted(e["name"] for e in json.loads(out)) == ["drums", "my kit", "pads"]
    code, out, _ = sda("library", "show", "my kit")
    assert code == 0 and "pluck_0.wav" in out and "torch" in out
    code, out, _ = sda("library", "search", "drone_1")
    assert code == 0 and "my kit" in out and "drums" not in out
    code, out, _ = sda("library", "search", "--tag", "perc", "--json")
    assert [e["name"] for e in json.loads(out)] == ["drums"]
    code, _, err = sda("library", "add", run, "--name", "my kit")
    assert code == 1 and "already in the library" in err


def test_old_export_spelling_still_adds_with_a_one_line_note(sda, lib, tiny_models, tmp_path):
    run = factories.write_codec_run(tmp_path / "run", tiny_models[0])
    code, out, err = sda("export", run, "--name", "old way", "--no-preview")
    assert code == 0, err
    assert "added old way" in out and lib.load("old way").id == tiny_models[0].fingerprint()
    assert err.startswith("note: `sda export` is now `sda library add`")
    code, _, err = sda("export", run, "--name", "old way")  # errors read the same as the new one's
    assert code == 1 and "already in the library" in err


def test_rename_tag_and_delete_with_confirmation(sda, lib):
    assert sda("library", "rename", "drums", "Drum Kit")[0] == 0
    code, out, _ = sda("library", "tag", "Drum Kit", "acoustic", "live")
    assert code == 0 and "perc, acoustic, live" in out
    code, out, _ = sda("library", "tag", "Drum Kit", "live", "--remove")
    assert code == 0 and "live" not in out
    code, _, err = sda("library", "delete", "pads", stdin="n\n")
    assert code == 1 and "nothing deleted" in err and lib.has("pads")
    code, out, _ = sda("library", "delete", "pads", stdin="y\n")
    assert code == 0 and not lib.has("pads")
    assert sda("library", "delete", "Drum Kit", "--yes")[0] == 0
    code, out, _ = sda("library", "list")
    assert code == 0 and "no bundles" in out


def test_zip_export_and_import(sda, lib, tmp_path, tiny_bundle):
    target = tmp_path / "drums.zip"
    assert sda("library", "export", "drums", target)[0] == 0
    code, out, err = sda("library", "import", target, "--name", "drums again")
    assert code == 0, err
    assert lib.load("drums again").id == tiny_bundle.id
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../../outside.txt", "x")
    code, _, err = sda("library", "import", tmp_path / "evil.zip")
    assert code == 1 and "outside the bundle" in err
    assert not (tmp_path / "outside.txt").exists()


def test_user_errors_are_one_line_with_help(sda, lib):
    for args, message in [
        (("library", "show", "drum"), 'Did you mean "drums"'),
        (("library", "rename", "drums", "../x"), "looks like a path"),
        (("library", "rename", "drums", "a/b"), "looks like a path"),
        (("library", "rename", "drums", "PADS"), "already exists"),
        (("library", "rename", "drums", "-rf"), "must start with a letter"),  # no `--` needed
        (("library", "rename", "drums", "\U0001d400" * 64), "bytes on disk"),
        (("library", "search", "--since", "yesterday"), "not a date"),
        (("library", "add", lib.root / "nothing", "--name", "x"), "neither a bundle"),
    ]:
        code, _, err = sda(*args)
        assert code == 1, args
        assert err.startswith("error:") and message in err, (args, err)


def test_damaged_index_is_reported_and_recovered(sda, lib):
    lib.index_path.write_text("not json")
    code, out, err = sda("library", "list")
    assert code == 0 and "drums" in out and "pads" in out
    assert "warning:" in err and "damaged" in err


def test_library_env_variable_is_used(capsys, lib, monkeypatch):
    monkeypatch.setenv("SDA_LIBRARY", str(lib.root))
    code, out, _ = run_cli(capsys, "library", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 2


def test_every_command_has_an_example_in_its_help(capsys):
    commands = [
        ("library", c)
        for c in ("add", "list", "show", "search", "rename", "tag", "delete", "import", "export")
    ] + [("library", "doctor")]
    for command in commands:
        code, out, _ = run_cli(capsys, *command, "--help")
        assert code == 0 and "Example: sda " + " ".join(command) in " ".join(out.split()), command
    code, out, _ = run_cli(capsys, "export", "--help")
    said = " ".join(out.split())
    assert code == 0 and "Deprecated" in said and "sda library add" in said and "--prior" in said


def test_doctor_reports_leftovers_with_sizes_and_cleans_on_request(sda, lib):
    leftover = lib.root / ".staging-0123abcd"  # as a crash of an older sda left it
    leftover.mkdir()
    (leftover / "codec.safetensors").write_bytes(b"x" * 3_000_000)
    code, out, err = sda("library", "list")
    assert code == 0 and "1 leftover" in err and "doctor" in err
    code, out, _ = sda("library", "doctor")
    assert code == 0 and ".staging-0123abcd (2.9 MB" in out and "--clean" in out
    assert leftover.exists()  # listed, not removed
    code, out, _ = sda("library", "doctor", "--clean")
    assert code == 0 and "removed 1 leftover(s), 2.9 MB freed" in out
    assert not leftover.exists() and lib.names() == ["drums", "pads"]
    code, out, _ = sda("library", "doctor")
    assert code == 0 and "healthy (2 bundles)" in out


def test_a_full_disk_is_one_line(sda, lib, tmp_path, monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("shutil.disk_usage", lambda path: usage(10**9, 10**9, 0))
    code, _, err = sda("library", "export", "drums", tmp_path / "drums.zip")
    assert code == 1 and err.startswith("error: disk full: need ~") and str(tmp_path) in err
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*.tmp"))
