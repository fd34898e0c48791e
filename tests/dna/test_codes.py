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
