"""Fuzzed bundle files: `config.json`, safetensors weights and bundle zips each load or give one
clean `SdaError`, never a traceback; nothing allocates or writes beyond a bound (seeded, at most a
few seconds per format)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from fuzzing import mutate_bytes, mutate_json, run_fuzz

from sda.library import BundleError
from sda.library import archive as archive_module
from sda.library.bundle import (
    CODEC_FILE,
    CONFIG_FILE,
    check_bundle_folder,
    load_weights_file,
    read_safetensors_header,
)

BIG_VALUES = [0, -1, 2**20, 2**31, 10**12, 1e300, 65_536, 16_384, "auto", None, [], {}]


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_bundle.path, tmp_path / "bundle"))


def _huge(config: dict, rng: random.Random) -> dict:
    """A size field of the codec or prior set to a huge, zero or wrong-typed value."""
    part = config[rng.choice([k for k in ("codec", "prior") if isinstance(config.get(k), dict)])]
    part[rng.choice(list(part))] = rng.choice(BIG_VALUES)
    return config


def test_fuzzed_configs_are_checked_before_any_model_is_built(bundle_copy):
    config_path = bundle_copy / CONFIG_FILE
    original = config_path.read_bytes()
    config = json.loads(original)

    def case(rng: random.Random, _: int) -> None:
        roll = rng.random()
        if roll < 0.3:
            config_path.write_bytes(mutate_bytes(original, rng))
        else:
            changed = _huge(json.loads(original), rng) if roll < 0.7 else mutate_json(config, rng)
            config_path.write_text(json.dumps(changed))
        check_bundle_folder(bundle_copy)  # includes the model-size check; builds nothing

    assert run_fuzz(case, seed=31) >= 1000


def _small_weights(path: Path) -> Path:
    """A safetensors file of a few small tensors of several dtypes (fast to write and read)."""
    import torch
    from safetensors.torch import save_file

    tensors = {
        "codes": torch.arange(24, dtype=torch.int32).reshape(2, 3, 4),
        "scale": torch.ones(5, dtype=torch.float16),
        "weight": torch.linspace(-1, 1, 12).reshape(3, 4),
        "empty": torch.zeros(0),
        "flag": torch.tensor([True, False]),
    }
    save_file(tensors, str(path), metadata={"format": "sda-bundle", "part": "codec"})
    return path


def test_fuzzed_weights_headers_are_checked_before_reading(tmp_path):
    weights = _small_weights(tmp_path / CODEC_FILE)
    original = weights.read_bytes()
    length = int.from_bytes(original[:8], "little")
    header = json.loads(original[8 : 8 + length])

    def case(rng: random.Random, _: int) -> None:
        if rng.random() < 0.5:
            weights.write_bytes(mutate_bytes(original, rng))
        else:
            raw = json.dumps(mutate_json(header, rng)).encode()
            weights.write_bytes(len(raw).to_bytes(8, "little") + raw + original[8 + length :])
        read_safetensors_header(weights)
        load_weights_file(weights)  # only reached when the header describes the file exactly

    assert run_fuzz(case, seed=32) >= 1000


def _lie_in_directory(data: bytes, rng: random.Random) -> bytes:
    """`data` (a zip) with one member's method, packed or unpacked size changed in its directory."""
    entries, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        entries.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    at = rng.choice(entries)
    offset, width = rng.choice([(10, 2), (20, 4), (24, 4)])  # method, packed, unpacked size
    value = rng.choice([0, 1, 8, 99, 2**16 - 1, 2**31, 2**32 - 1, rng.randrange(2**32)])
    value %= 2 ** (8 * width)
    return data[: at + offset] + value.to_bytes(width, "little") + data[at + offset + width :]


def test_fuzzed_zips_are_refused_before_writing_past_a_bound(tiny_bundle, tmp_path, monkeypatch):
    # Loading the models is fuzzed above; here only the zip reader and what it writes matter.
    monkeypatch.setattr(archive_module, "load_bundle_folder", lambda path: None)
    original = archive_module.write_bundle_zip(tiny_bundle.path, tmp_path / "good.zip").read_bytes()
    bound = 2 * sum(p.stat().st_size for p in tiny_bundle.path.iterdir())
    target = tmp_path / "case.zip"

    def case(rng: random.Random, index: int) -> None:
        mutate = _lie_in_directory if rng.random() < 0.3 else mutate_bytes
        target.write_bytes(mutate(original, rng))
        dest = tmp_path / f"dest-{index}"
        try:
            archive_module.extract_bundle_zip(target, dest)
        finally:
            written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
            shutil.rmtree(dest, ignore_errors=True)
            assert written <= bound

    assert run_fuzz(case, seed=33) >= 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"codec": {"dim": ' + "9" * 5000 + "}}", "not valid JSON"),  # over Python's digit cap
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nested past the recursion limit
        (" " * (1024**2) + "{}", "over the 1,048,576 a bundle's JSON may hold"),
    ],
)
def test_hostile_json_files_are_refused_before_parsing(bundle_copy, monkeypatch, text, expected):
    from sda.library import bundle as bundle_module

    monkeypatch.setattr(bundle_module, "MAX_JSON_BYTES", 1024**2)
    for name in (CONFIG_FILE, "meta.json"):
        original = (bundle_copy / name).read_bytes()
        (bundle_copy / name).write_text(text)
        with pytest.raises(BundleError, match=expected):
            check_bundle_folder(bundle_copy)
        (bundle_copy / name).write_bytes(original)


def test_a_hostile_library_index_is_reported_as_damaged(tmp_path):
    from sda.library.index import CorruptIndex, read_index

    for text in ("[" * 100_000, '{"format": ' + "7" * 5000 + "}", b"\xff\xfe"):
        path = tmp_path / "index.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(CorruptIndex):
            read_index(path)
