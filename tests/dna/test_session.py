"""Sessions: undo/redo round trips, save/load exactly, refusals, never half-written files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from sda.dna import edit
from sda.dna.codes import Codes
from sda.dna.session import Session, SessionError


def make(seed: int, *, bundle: str = "0123456789abcdef") -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        indices=rng.integers(0, 16, size=(3, 20)),
        bundle_id=bundle,
        frame_rate=25.0,
        codebook_size=16,
        provenance={"sources": [f"s{seed}.wav"]},
    )


def edited_session() -> Session:
    session = Session()
    session.add_source("A", make(1))
    session.add_source("B", make(2))
    session.apply(edit.swap_levels(session.current, session.sources["B"], 0))
    session.apply(edit.slice_frames(session.current, 2, 18))
    return session


def test_first_source_becomes_current_and_labels_follow_operations():
    session = edited_session()
    assert [s.label for s in session.history] == ["open A", "swap_levels", "slice"]
    assert session.current.frames == 16
    assert session.bundle_id == "0123456789abcdef"


def test_undo_redo_round_trip():
    session = edited_session()
    states = [s.codes for s in session.history]
    assert session.undo() is states[1]
    assert session.undo() is states[0]
    assert not session.can_undo
    with pytest.raises(SessionError, match="nothing to undo"):
        session.undo()
    assert session.redo() is states[1]
    assert session.redo() is states[2]
    with pytest.raises(SessionError, match="nothing to redo"):
        session.redo()


def test_new_edit_after_undo_drops_the_redo_branch():
    session = edited_session()
    session.undo()
    session.apply(edit.loop(session.current, times=2))
    assert [s.label for s in session.history] == ["open A", "swap_levels", "loop"]
    assert not session.can_redo


def test_history_is_capped():
    session = Session(max_history=3)
    session.add_source("A", make(1))
    for n in range(5):
        session.apply(edit.set_cells(session.current, [(0, 0, n)]))
    assert len(session.history) == 3
    assert session.current.indices[0, 0] == 4


def test_save_load_restores_everything_exactly(tmp_path):
    session = edited_session()
    session.undo()
    path = session.save(tmp_path / "work")
    assert path.name == "work.sdasession"
    loaded = Session.load(path)
    assert loaded.position == session.position
    assert [s.label for s in loaded.history] == [s.label for s in session.history]
    for mine, theirs in zip(session.history, loaded.history, strict=True):
        assert np.array_equal(mine.codes.indices, theirs.codes.indices)
        assert mine.codes.provenance == theirs.codes.provenance
    assert np.array_equal(loaded.sources["B"].indices, session.sources["B"].indices)
    assert np.array_equal(loaded.redo().indices, session.redo().indices)


def test_empty_session_round_trip(tmp_path):
    loaded = Session.load(Session().save(tmp_path / "empty.sdasession"))
    assert loaded.current is None and loaded.history == []


def test_codes_from_another_model_are_refused():
    session = edited_session()
    with pytest.raises(SessionError, match="different models"):
        session.add_source("C", make(3, bundle="ffffffffffffffff"))
    with pytest.raises(SessionError, match="different models"):
        session.apply(make(3, bundle="ffffffffffffffff"))


@pytest.mark.parametrize(
    "damage",
    [
        "truncate",
        "garbage",
        "wrong_format",
        "bad_position",
        "missing_array",
        "bad_indices",
        "steps_not_objects",
        "huge_history",
        "fast_frame_rate",
        "provenance_list",
    ],
)
def test_corrupt_session_gives_one_clear_error(tmp_path, damage):
    path = edited_session().save(tmp_path / "s.sdasession")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not a session at all")
    else:
        with np.load(path) as archive:
            members = {k: archive[k] for k in archive.files}
        meta = json.loads(members["meta"].tobytes())
        if damage == "wrong_format":
            meta["format"] = "something-else"
        elif damage == "bad_position":
            meta["position"] = 99
        elif damage == "missing_array":
            del members[meta["steps"][0]["array"]]
        elif damage == "bad_indices":
            members[meta["steps"][0]["array"]] = np.full((3, 20), 99, dtype=np.int32)
        elif damage == "steps_not_objects":
            meta["steps"] = [1, 2]
        elif damage == "huge_history":
            meta["max_history"] = 10**12
        elif damage == "fast_frame_rate":
            meta["steps"][0]["frame_rate"] = "fast"
        elif damage == "provenance_list":
            meta["sources"][0]["provenance"] = [1]
        members["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez(handle, **members)
    with pytest.raises(SessionError, match=r"s\.sdasession"):
        Session.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(SessionError, match="no such session file"):
        Session.load(tmp_path / "nope.sdasession")


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    session = edited_session()
    path = session.save(tmp_path / "s.sdasession")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    session.apply(edit.loop(session.current, times=3))
    with pytest.raises(OSError, match="disk full"):
        session.save(path)
    assert path.read_bytes() == before
    assert zipfile.is_zipfile(path)
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_reloaded_session_decodes_bit_identically(tiny_bundle, tiny_training_audio, tmp_path):
    from sda.dna import codec_bridge

    session = Session()
    session.add_source("pluck", codec_bridge.encode_audio(tiny_bundle, tiny_training_audio[0]))
    session.add_source("drone", codec_bridge.encode_audio(tiny_bundle, tiny_training_audio[1]))
    session.apply(edit.swap_levels(session.current, session.sources["drone"], slice(0, 2)))
    session.apply(edit.randomize_region(session.current, start=3, end=30, levels=[3], seed=7))
    before = codec_bridge.decode(tiny_bundle, session.current)
    loaded = Session.load(session.save(tmp_path / "dna.sdasession"))
    after = codec_bridge.decode(tiny_bundle, loaded.current)
    assert before.dtype == after.dtype and np.array_equal(before, after)
