"""Fuzzed `.sdacodes` and `.sdasession` files: each loads or gives one clean `SdaError`, never a
traceback, and no case allocates more than a bound (seeded, at most a few seconds per format)."""

from __future__ import annotations

import io
import json
import random
import zipfile

import numpy as np
from fuzzing import HOSTILE_VALUES, mutate_bytes, mutate_json, npy_bytes, run_fuzz, write_npz

from sda.dna.codes import Codes
from sda.dna.session import Session, load_grid

LIES = [(4, 3_000_000), (2**40, 2**40), (0, 0), (4,), (4, 20, 2), (1, 10**9), (64, 10_000)]


def _grid(seed: int = 0) -> Codes:
    indices = np.random.default_rng(seed).integers(0, 64, (4, 20))
    return Codes(indices, bundle_id="abc123", frame_rate=46.875, codebook_size=64)


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name[:-4]: archive.read(name) for name in archive.namelist()}


def _meta(members: dict[str, bytes]) -> dict:
    return json.loads(np.load(io.BytesIO(members["meta"])).tobytes())


def _damage(members: dict[str, bytes], rng: random.Random, grid_keys: list[str]) -> dict:
    """One structural mutation: meta fields, a lying or wrong-typed grid, a missing member."""
    members = dict(members)
    kind = rng.choice(("json", "json", "lie", "dtype", "values", "drop"))
    key = rng.choice(grid_keys)
    if kind == "json":
        meta = mutate_json(_meta(members), rng)
        members["meta"] = npy_bytes(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    elif kind == "lie":
        members[key] = npy_bytes(np.zeros((4, 20), np.int32), shape=rng.choice(LIES))
    elif kind == "dtype":
        dtype = rng.choice([np.float64, np.complex64, np.uint64, np.int8, np.bool_])
        members[key] = npy_bytes(np.zeros((4, 20), dtype))
    elif kind == "values":
        members[key] = npy_bytes(np.full((4, 20), rng.choice([-1, 64, 2**31 - 1]), np.int32))
    else:
        members.pop(rng.choice([*grid_keys, "meta"]))
    if rng.random() < 0.1:  # a JSON value where the meta array belongs
        members["meta"] = npy_bytes(
            np.frombuffer(json.dumps(rng.choice(HOSTILE_VALUES)).encode(), np.uint8)
        )
    return members


def _fuzz(tmp_path, original, load, seed: int) -> int:
    raw = original.read_bytes()
    members = _members(original)
    grid_keys = [k for k in members if k != "meta"]
    target = tmp_path / f"case{original.suffix}"

    def case(rng: random.Random, _: int) -> None:
        if rng.random() < 0.5:
            target.write_bytes(mutate_bytes(raw, rng))
        else:
            write_npz(target, _damage(members, rng, grid_keys))
        load(target)

    return run_fuzz(case, seed=seed)


def test_fuzzed_codes_files_load_or_give_a_clean_error(tmp_path):
    original = _grid().save(tmp_path / "good.sdacodes")
    assert _fuzz(tmp_path, original, Codes.load, seed=19) >= 1000


def test_fuzzed_session_files_load_or_give_a_clean_error(tmp_path):
    session = Session()
    session.add_source("A", _grid(0))
    session.add_source("B", _grid(1))
    session.apply(_grid(2), label="swap")
    session.apply(_grid(3), label="blend")
    original = session.save(tmp_path / "good.sdasession")

    def load_as_the_app_and_the_cli_do(path) -> None:
        try:
            Session.load(path)  # the explorer's DNA tab
        finally:
            load_grid(path)  # `sda decode` and co.: the session's current sound

    assert _fuzz(tmp_path, original, load_as_the_app_and_the_cli_do, seed=20) >= 1000


def _stereo_grid(seed: int = 0) -> Codes:
    rng = np.random.default_rng(seed)
    return _grid(seed).with_indices(_grid(seed).indices, side_indices=rng.integers(0, 64, (2, 20)))


def test_fuzzed_stereo_codes_files_load_or_give_a_clean_error(tmp_path):
    """Version 2: a side member and the `channels` field are damaged too."""
    original = _stereo_grid().save(tmp_path / "wide.sdacodes")
    assert "side" in _members(original)
    assert _fuzz(tmp_path, original, Codes.load, seed=21) >= 1000


def test_fuzzed_stereo_session_files_load_or_give_a_clean_error(tmp_path):
    session = Session()
    session.add_source("A", _stereo_grid(0))
    session.add_source("B", _grid(1))
    session.apply(_stereo_grid(2), label="swap side")
    original = session.save(tmp_path / "wide.sdasession")

    def load_as_the_app_and_the_cli_do(path) -> None:
        try:
            Session.load(path)
        finally:
            load_grid(path)

    assert _fuzz(tmp_path, original, load_as_the_app_and_the_cli_do, seed=22) >= 1000
