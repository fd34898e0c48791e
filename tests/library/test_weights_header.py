"""Safetensors headers that do not describe their file are refused before any weight is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sda.library import BundleError
from sda.library.bundle import read_safetensors_header


def _weights(path: Path, header: dict, data: bytes) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    return path


def _tensor(dtype="F32", shape=(2,), offsets=(0, 8)) -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def test_plain_headers_pass(tmp_path):
    empty_last = {"a": _tensor(), "b": _tensor("U8", (0,), (8, 8))}  # an empty tensor is legal
    assert "b" in read_safetensors_header(_weights(tmp_path / "e", empty_last, bytes(8)))
    header = {"a": _tensor(), "b": _tensor("F16", (2, 2), (8, 16)), "__metadata__": {"x": "y"}}
    assert set(read_safetensors_header(_weights(tmp_path / "w", header, bytes(16)))) == {
        "a",
        "b",
        "__metadata__",
    }


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"a": _tensor(shape=[10**9])}, "declares shape"),
        ({"a": _tensor(shape=[2**40, 2**40, 2**40])}, "declares shape"),
        ({"a": _tensor(shape=[-2])}, "impossible shape"),
        ({"a": _tensor(shape="big")}, "impossible shape"),
        ({"a": _tensor(dtype="F128")}, "unknown dtype"),
        ({"a": _tensor(offsets=[0, "8"])}, "valid byte range"),
        ({"a": _tensor(offsets=(0, 8)), "b": _tensor(offsets=(0, 8))}, "overlaps"),
        ({"a": [1, 2]}, "damaged header"),
        ({"a": _tensor(), "__metadata__": [1]}, "__metadata__"),
    ],
)
def test_lying_headers_are_refused(tmp_path, header, message):
    with pytest.raises(BundleError, match=message):
        read_safetensors_header(_weights(tmp_path / "w", header, bytes(8)))


def test_a_gap_between_tensors_is_refused(tmp_path):
    header = {"a": _tensor(offsets=(0, 8)), "b": _tensor(offsets=(12, 20))}
    with pytest.raises(BundleError, match="gap"):
        read_safetensors_header(_weights(tmp_path / "w", header, bytes(20)))


def test_deeply_nested_or_huge_number_headers_are_damaged(tmp_path):
    for raw in ("[" * 100_000, '{"a": ' + "9" * 5000 + "}"):
        encoded = raw.encode()
        path = tmp_path / "w"
        path.write_bytes(len(encoded).to_bytes(8, "little") + encoded)
        with pytest.raises(BundleError, match="damaged header"):
            read_safetensors_header(path)
