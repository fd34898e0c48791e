"""The Codes grid type and its .sdacodes file format."""

from __future__ import annotations

import numpy as np
import pytest

from sda.dna.codes import Codes, CodesError


def _codes(levels=4, frames=20, size=64, seed=0, bundle="abc123") -> Codes:
    grid = np.random.default_rng(seed).integers(0, size, (levels, frames))
    return Codes(
        grid,
        bundle_id=bundle,
        frame_rate=46.875,
        codebook_size=size,
        provenance={"source": "x.wav"},
    )


def test_shape_properties_and_read_only_grid():
    codes = _codes()
    assert (codes.levels, codes.frames) == (4, 20)
    assert codes.seconds == pytest.approx(20 / 46.875)
    assert codes.indices.dtype == np.int32
    with pytest.raises(ValueError):
        codes.indices[0, 0] = 1


def test_save_load_round_trip_is_exact(tmp_path):
    codes = _codes()
    path = codes.save(tmp_path / "take")
    assert path.name == "take.sdacodes"
    loaded = Codes.load(path)
    np.testing.assert_array_equal(loaded.indices, codes.indices)
    assert (loaded.bundle_id, loaded.frame_rate, loaded.codebook_size) == ("abc123", 46.875, 64)
    assert loaded.provenance == {"source": "x.wav"}
    assert [p.name for p in tmp_path.iterdir()] == ["take.sdacodes"]  # no temp file left behind


@pytest.mark.parametrize(
    "grid, message",
    [
        (np.zeros(5, dtype=int), "2-D"),
        (np.full((2, 3), 64), "0..63"),
        (np.full((2, 3), -1), "0..63"),
        (np.zeros((2, 2)), "integers"),
    ],
)
def test_invalid_grids_are_refused(grid, message):
    with pytest.raises(CodesError, match=message):
        Codes(grid, bundle_id="b", frame_rate=47.0, codebook_size=64)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_files_give_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.sdacodes"
    path.write_bytes(content)
    with pytest.raises(CodesError, match="not a readable sda codes file"):
        Codes.load(path)


def test_pickled_payload_is_never_loaded(tmp_path):
    path = tmp_path / "evil.sdacodes"
    np.savez(
        path.with_suffix(""), indices=np.array([object()], dtype=object), meta=np.zeros(1, np.uint8)
    )
    with pytest.raises(CodesError):
        Codes.load(path)


def test_codes_from_other_models_are_incompatible():
    with pytest.raises(CodesError, match="different models"):
        _codes(bundle="a").check_compatible(_codes(bundle="b"))
    _codes(bundle="a").check_compatible(_codes(bundle="a", seed=3))


def test_with_indices_keeps_codec_and_merges_provenance():
    codes = _codes()
    edited = codes.with_indices(np.zeros((4, 5), dtype=int), operation="clear")
    assert edited.frames == 5 and edited.bundle_id == codes.bundle_id
    assert edited.provenance == {"source": "x.wav", "operation": "clear"}


# ----------------------------------------------------------------------------- damaged files

GOOD_META = {
    "format": "sda-codes",
    "version": 1,
    "bundle_id": "abc123",
    "frame_rate": 46.875,
    "codebook_size": 64,
    "provenance": {},
}


def _without(key):
    return {k: v for k, v in GOOD_META.items() if k != key}


@pytest.mark.parametrize(
    "meta, message",
    [
        (_without("bundle_id"), "'bundle_id' is missing"),
        ([GOOD_META], "a JSON list, expected an object"),
        ({**GOOD_META, "frame_rate": "fast"}, "'frame_rate' must be a number"),
        ({**GOOD_META, "frame_rate": 0}, "'frame_rate' must be a number"),
        ({**GOOD_META, "frame_rate": 1e400}, "'frame_rate' must be a number"),
        ({**GOOD_META, "codebook_size": "64"}, "'codebook_size' must be a whole number"),
        ({**GOOD_META, "provenance": [1]}, "'provenance' must be a JSON object"),
        ({**GOOD_META, "version": [2]}, "version"),
        (_without("format"), "not an sda codes file"),
    ],
)
def test_damaged_meta_gives_a_clean_error_naming_file_and_field(tmp_path, meta, message):
    from fuzzing import json_member, write_npz

    path = write_npz(
        tmp_path / "bad.sdacodes",
        {"indices": np.zeros((2, 5), np.int32), "meta": json_member(meta)},
    )
    with pytest.raises(CodesError, match=message) as refused:
        Codes.load(path)
    assert str(refused.value).startswith(str(path))


def test_a_3m_frame_grid_is_refused_from_its_header_before_reading(tmp_path):
    from fuzzing import json_member, npy_bytes, write_npz

    lying = npy_bytes(np.zeros((4, 8), np.int32), shape=(4, 3_000_000))
    path = write_npz(tmp_path / "long.sdacodes", {"indices": lying, "meta": json_member(GOOD_META)})
    with pytest.raises(CodesError, match=r"3,000,000 frames .* cap of 337,500 frames \(2 hours"):
        Codes.load(path)
    with pytest.raises(CodesError, match="cap of 47 frames"):
        Codes.load(_codes(frames=60).save(tmp_path / "short"), max_seconds=1.0)


def test_a_grid_shorter_than_its_header_is_truncated(tmp_path):
    from fuzzing import json_member, npy_bytes, write_npz

    lying = npy_bytes(np.zeros((4, 8), np.int32), shape=(4, 800))
    path = write_npz(tmp_path / "cut.sdacodes", {"indices": lying, "meta": json_member(GOOD_META)})
    with pytest.raises(CodesError, match="truncated"):
        Codes.load(path)


def test_an_explorer_session_file_reads_as_its_current_grid(tmp_path):
    from sda.dna.session import Session, load_grid

    session = Session()
    session.add_source("A", _codes())
    session.apply(_codes(seed=5), label="edit")
    path = session.save(tmp_path / "work.sdasession")
    np.testing.assert_array_equal(load_grid(path).indices, _codes(seed=5).indices)
    renamed = path.rename(tmp_path / "work.sdacodes")  # known by its contents, not its name
    np.testing.assert_array_equal(load_grid(renamed).indices, _codes(seed=5).indices)
    with pytest.raises(CodesError, match="explorer editing session, not a codes file"):
        Codes.load(renamed)  # Codes reads codes files only
    with pytest.raises(CodesError, match="no sound in it"):
        load_grid(Session().save(tmp_path / "empty.sdasession"))
    plain = _codes().save(tmp_path / "plain.sdacodes")
    np.testing.assert_array_equal(load_grid(plain).indices, _codes().indices)
    with pytest.raises(CodesError, match="no such codes file"):
        load_grid(tmp_path / "missing.sdacodes")
