"""Helpers for the damaged-file tests: byte and JSON mutations, hand-made `.npz` members, a runner.

Every fuzz test is seeded and bounded: it runs `count` mutations (a second or a few on a laptop)
or stops at `seconds` on a very slow machine, and asserts that each case either loads or raises a
clean `SdaError`.
"""

from __future__ import annotations

import io
import json
import random
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from sda.errors import SdaError

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, 10**400, 1e308, -1e308, 0.0, float("nan"),
    "fast", "", "x" * 5000, [], [1], [[1]], {}, {"a": 1}, 3.5,
]  # fmt: skip


def npy_bytes(array: np.ndarray, *, shape: tuple[int, ...] | None = None) -> bytes:
    """A `.npy` member holding `array`, optionally with a lying `shape` in its header."""
    header = npy_format.header_data_from_array_1_0(array)
    if shape is not None:
        header["shape"] = shape
    out = io.BytesIO()
    npy_format.write_array_header_1_0(out, header)
    out.write(np.ascontiguousarray(array).tobytes())
    return out.getvalue()


def write_npz(path: Path, members: dict[str, bytes | np.ndarray]) -> Path:
    """An `.npz` file from arrays or ready-made `.npy` bytes (as `np.savez` lays it out)."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in members.items():
            data = value if isinstance(value, bytes) else npy_bytes(value)
            archive.writestr(key + ".npy", data)
    return path


def json_member(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value).encode("utf-8"), dtype=np.uint8)


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Truncate, flip, insert, overwrite or duplicate a part of `data`."""
    data = bytearray(data)
    kind = rng.choice(("truncate", "flip", "flip", "insert", "overwrite", "duplicate"))
    at = rng.randrange(len(data)) if data else 0
    if kind == "truncate":
        del data[at:]
    elif kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "insert":
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "overwrite":
        data[at : at + rng.randint(1, 16)] = b"\xff" * rng.randint(1, 16)
    else:
        data[at:at] = data[at : at + rng.randint(1, 64)]
    return bytes(data)


def mutate_json(value: Any, rng: random.Random) -> Any:
    """`value` (a JSON object) with one field, at any depth, replaced, removed or added."""
    value = json.loads(json.dumps(value))
    target = value
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            break
        key = rng.choice(keys)
        child = target[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.5:
            target = child
            continue
        action = rng.random()
        if action < 0.7:
            target[key] = rng.choice(HOSTILE_VALUES)
        elif isinstance(target, dict) and action < 0.9:
            del target[key]
        elif isinstance(target, dict):
            target["junk"] = rng.choice(HOSTILE_VALUES)
        break
    return value


def run_fuzz(
    case: Callable[[random.Random, int], None],
    *,
    seed: int,
    count: int = 1000,
    seconds: float = 30.0,
    max_bytes: int = 64 * 1024**2,
) -> int:
    """Run `case(rng, i)` up to `count` times or `seconds`; each must load or raise `SdaError`.

    Python and numpy allocations are traced: no case may peak above `max_bytes`.
    """
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    tracemalloc.start()
    done = 0
    try:
        while done < count and time.monotonic() < deadline:
            tracemalloc.reset_peak()
            try:
                case(rng, done)
            except SdaError as error:
                assert str(error) and "Traceback" not in str(error)
            peak = tracemalloc.get_traced_memory()[1]
            assert peak < max_bytes, f"case {done} allocated {peak / 1024**2:.0f} MiB"
            done += 1
    finally:
        tracemalloc.stop()
    return done
