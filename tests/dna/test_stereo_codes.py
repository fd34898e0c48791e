"""Stereo `Codes` (a mid and a side grid): the grids, their files and sessions, and that the files
older sda wrote (mono, version 1) still load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fuzzing import json_member, write_npz

from sda.dna.codes import Codes, CodesError
from sda.dna.session import Session, SessionError, load_grid

META = {"bundle_id": "abc123", "frame_rate": 46.875, "codebook_size": 64}


def _stereo(seed: int = 0, frames: int = 20, side_levels: int = 2) -> Codes:
    rng = np.random.default_rng(seed)
    return Codes(
        rng.integers(0, 64, (4, frames)),
        **META,
        provenance={"sources": [f"s{seed}.wav"]},
        side_indices=rng.integers(0, 64, (side_levels, frames)),
    )


def _mono(seed: int = 0, frames: int = 20) -> Codes:
    return Codes(np.random.default_rng(seed).integers(0, 64, (4, frames)), **META)


def _meta_of(path) -> dict:
    with np.load(path) as archive:
        return json.loads(archive["meta"].tobytes())


def test_a_stereo_grid_exposes_its_mid_and_side():
    codes = _stereo()
    assert codes.channels == 2 and codes.side_levels == 2 and codes.levels == 4
    assert codes.mid.channels == 1 and np.array_equal(codes.mid.indices, codes.indices)
    assert np.array_equal(codes.side.indices, codes.side_indices) and codes.side.levels == 2
    assert codes.part("side").bundle_id == codes.bundle_id
    assert _mono().channels == 1 and _mono().side_levels == 0
    with pytest.raises(CodesError, match="mono: it has no side grid"):
        _mono().part("side")
    with pytest.raises(CodesError, match="choose mid or side"):
        codes.part("left")


@pytest.mark.parametrize(
    "side, message",
    [
        (np.zeros((2, 19), int), "same frames"),
        (np.zeros((6, 20), int), "at most"),  # 4 levels and a direction row at most
        (np.full((2, 20), 64), "0..63"),
        (np.zeros(20, int), "2-D"),
    ],
)
def test_a_side_grid_that_does_not_fit_is_refused(side, message):
    with pytest.raises(CodesError, match=message):
        Codes(np.zeros((4, 20), int), **META, side_indices=side)


def test_with_indices_keeps_the_side_unless_told_and_with_side_replaces_it():
    codes = _stereo()
    kept = codes.with_indices(np.zeros((4, 20), int), op="x")
    assert np.array_equal(kept.side_indices, codes.side_indices)
    assert codes.with_indices(codes.indices, side_indices=None).channels == 1
    with pytest.raises(CodesError, match="same frames"):
        codes.with_indices(np.zeros((4, 5), int))  # a length change must move the side too
    other = _stereo(1)
    assert np.array_equal(codes.with_side(other.side).side_indices, other.side_indices)
    assert codes.with_side(None).channels == 1


def test_stereo_codes_round_trip_as_version_2_and_mono_stays_version_1(tmp_path):
    codes = _stereo()
    loaded = Codes.load(codes.save(tmp_path / "wide"))
    assert np.array_equal(loaded.indices, codes.indices)
    assert np.array_equal(loaded.side_indices, codes.side_indices)
    assert loaded.provenance == codes.provenance and loaded.frame_rate == codes.frame_rate
    assert _meta_of(tmp_path / "wide.sdacodes")["version"] == 2
    mono_path = _mono().save(tmp_path / "mono")
    assert _meta_of(mono_path)["version"] == 1 and "channels" not in _meta_of(mono_path)
    assert Codes.load(mono_path).channels == 1


def test_an_old_mono_codes_file_loads(tmp_path):
    """Built member by member the way sda wrote `.sdacodes` before stereo (format version 1)."""
    indices = np.arange(40, dtype=np.int32).reshape(4, 10) % 64
    meta = {"format": "sda-codes", "version": 1, **META, "provenance": {"sources": ["old.wav"]}}
    path = tmp_path / "old.sdacodes"
    with open(path, "wb") as handle:  # np.savez would add .npz to a path
        np.savez(handle, indices=indices, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    loaded = load_grid(path)
    assert loaded.channels == 1 and np.array_equal(loaded.indices, indices)
    assert loaded.provenance == {"sources": ["old.wav"]}


def test_an_old_mono_session_loads(tmp_path):
    """A session as sda wrote it before stereo (version 1, no side entries)."""
    grid = np.ones((4, 10), np.int32)
    entry = {**META, "provenance": {}, "array": "grid_a"}
    meta = {
        "format": "sda-session",
        "version": 1,
        "max_history": 500,
        "position": 0,
        "sources": [{**entry, "name": "A"}],
        "steps": [{**entry, "label": "open A"}],
    }
    path = tmp_path / "old.sdasession"
    with open(path, "wb") as handle:
        np.savez(handle, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), grid_a=grid)
    session = Session.load(path)
    assert session.current.channels == 1 and np.array_equal(session.current.indices, grid)
    assert load_grid(path).channels == 1


def test_a_session_holding_stereo_and_mono_grids_round_trips(tmp_path):
    session = Session()
    session.add_source("wide", _stereo(0))
    session.add_source("narrow", _mono(1))
    session.apply(_stereo(2, side_levels=4), label="edit")
    path = session.save(tmp_path / "mixed")
    assert _meta_of(path)["version"] == 2
    loaded = Session.load(path)
    assert loaded.sources["narrow"].channels == 1
    wide = loaded.sources["wide"]
    assert np.array_equal(wide.side_indices, _stereo(0).side_indices)
    assert loaded.current.side_levels == 4 and load_grid(path).channels == 2
    mono_only = Session()
    mono_only.add_source("narrow", _mono(1))
    assert _meta_of(mono_only.save(tmp_path / "mono"))["version"] == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"version": 3}, "version 3 is not supported"),
        ({"version": 2, "channels": "surround"}, "unknown channel layout"),
    ],
)
def test_a_newer_or_unknown_layout_is_refused_naming_the_file(tmp_path, change, message):
    meta = {"format": "sda-codes", "version": 1, **META, **change}
    path = write_npz(
        tmp_path / "new.sdacodes",
        {"indices": np.zeros((2, 5), np.int32), "meta": json_member(meta)},
    )
    with pytest.raises(CodesError, match=message) as refused:
        Codes.load(path)
    assert str(refused.value).startswith(str(path))


def test_a_stereo_file_without_its_side_member_is_refused(tmp_path):
    meta = {"format": "sda-codes", "version": 2, "channels": "mid_side", **META}
    path = write_npz(
        tmp_path / "half.sdacodes",
        {"indices": np.zeros((2, 5), np.int32), "meta": json_member(meta)},
    )
    with pytest.raises(CodesError, match="no 'side' entry"):
        Codes.load(path)


def test_a_session_entry_naming_a_missing_side_grid_is_refused(tmp_path):
    session = Session()
    session.add_source("wide", _stereo())
    path = session.save(tmp_path / "s")
    with np.load(path) as archive:
        members = {key: archive[key] for key in archive.files}
    meta = json.loads(members["meta"].tobytes())
    meta["sources"][0]["side_array"] = "grid_nothing"
    members["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **members)
    with pytest.raises(SessionError, match="does not hold"):
        Session.load(path)
