"""The crash-safe writer: the old file or the new one in full, never half, and no litter."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from sda.atomic_files import (
    atomic_write,
    commit_prepared,
    free_bytes,
    is_disk_full,
    json_bytes,
    prepare_bytes,
    write_bytes_atomic,
    write_json_atomic,
)


class WriterCrashed(RuntimeError):
    pass


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_a_successful_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "codes.npz"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert leftovers(tmp_path, {"codes.npz"}) == []


def test_a_writer_that_fails_midway_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "session.json"
    target.write_text("the musician's work")
    with pytest.raises(WriterCrashed), atomic_write(target) as handle:
        handle.write(b"half of the new ")
        handle.flush()
        assert target.read_text() == "the musician's work"  # nothing visible while writing
        raise WriterCrashed("power cut")
    assert target.read_text() == "the musician's work"
    assert leftovers(tmp_path, {"session.json"}) == []


def test_a_failed_first_write_leaves_nothing_at_all(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / "index.json"
    # even an interrupt, not only an Exception
    with pytest.raises(KeyboardInterrupt), atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write("{")
        raise KeyboardInterrupt
    assert not target.exists()
    assert leftovers(target.parent, set()) == []  # the folder was made, but holds no litter


def test_text_mode_and_open_arguments_pass_through(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    with atomic_write(target, "w", encoding="utf-16") as handle:
        handle.write("Klänge")
    assert target.read_text(encoding="utf-16") == "Klänge"


def test_a_named_temp_file_is_used_and_refused_if_it_exists(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    journal_temp = tmp_path / "index.json.pending"
    seen = []
    with atomic_write(target, tmp_path=journal_temp) as handle:
        seen.append(journal_temp.exists())  # written where the journal says
        handle.write(b"{}")
    assert seen == [True] and target.read_bytes() == b"{}" and not journal_temp.exists()
    journal_temp.write_bytes(b"another writer's")  # never overwritten: O_EXCL
    with pytest.raises(FileExistsError):
        write_bytes_atomic(target, b"mine", tmp_path=journal_temp)
    assert journal_temp.read_bytes() == b"another writer's" and target.read_bytes() == b"{}"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_temp_files_are_private_until_renamed(tmp_path: Path) -> None:
    modes = []
    with atomic_write(tmp_path / "a.bin") as handle:
        modes.append(os.stat(handle.fileno()).st_mode & 0o777)
    with atomic_write(tmp_path / "b.bin", tmp_path=tmp_path / "b.tmp") as handle:
        modes.append(os.stat(handle.fileno()).st_mode & 0o777)
    assert modes == [0o600, 0o600]


def test_json_is_readable_unicode_with_a_final_newline(tmp_path: Path) -> None:
    data = {"name": "Pluck ♯", "tags": ["drums"], "z": 1, "a": 2}
    raw = json_bytes(data)
    assert raw.endswith(b"}\n") and "Pluck ♯".encode() in raw  # not \u-escaped
    assert list(json.loads(raw)) == ["name", "tags", "z", "a"]  # order kept, not sorted
    target = tmp_path / "meta.json"
    write_json_atomic(target, data)
    assert json.loads(target.read_text(encoding="utf-8")) == data


def test_prepare_then_commit_is_a_rename(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    target.write_bytes(b"old")
    prepared = prepare_bytes(tmp_path / "index.json.new", b"new")
    assert target.read_bytes() == b"old" and prepared.read_bytes() == b"new"
    with pytest.raises(FileExistsError):  # never clobbers another prepared file
        prepare_bytes(prepared, b"other")
    assert prepared.read_bytes() == b"new"
    commit_prepared(prepared, target)
    assert target.read_bytes() == b"new" and not prepared.exists()


def test_a_failed_prepare_removes_its_temp(tmp_path: Path) -> None:
    class NotBytes:
        pass

    with pytest.raises(TypeError):
        prepare_bytes(tmp_path / "x.tmp", NotBytes())  # type: ignore[arg-type]
    assert leftovers(tmp_path, set()) == []


def test_disk_full_is_told_apart_from_other_errors() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert not is_disk_full(OSError(errno.EACCES, os.strerror(errno.EACCES)))
    assert not is_disk_full(ValueError("bad value"))
    # errno lost by shutil (str only) or by the Rust safetensors writer
    assert is_disk_full(shutil.Error(str(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))))
    assert is_disk_full(RuntimeError("IoError(Os { code: 28, kind: StorageFull, message: .. })"))
    # found through the chain of causes
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as cause:
            raise RuntimeError("could not save the bundle") from cause
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)


def test_disk_full_check_survives_a_cycle_of_causes() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert is_disk_full(first) is False


def test_free_bytes_looks_at_the_nearest_existing_folder(tmp_path: Path) -> None:
    here = free_bytes(tmp_path)
    assert here > 0
    not_yet = free_bytes(tmp_path / "not" / "made" / "yet.zip")
    assert abs(not_yet - here) < 64 * 1024**2  # the same disk (allowing for other writers)


def test_a_failed_rename_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    target.mkdir()  # a folder where the file should go: the final replace fails
    (target / "keep.txt").write_text("kept")
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"data")
    assert (target / "keep.txt").read_text() == "kept"
    assert leftovers(tmp_path, {"bundle"}) == []
