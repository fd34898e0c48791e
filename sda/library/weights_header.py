"""Check the tensor list of a safetensors header against the file before any weight is read.

Every entry must have a known dtype, a plain shape and a byte range that matches that shape,
lies inside the file and does not overlap another: a damaged header cannot make the loader
reserve memory the file does not hold.
"""

from __future__ import annotations

import math
from typing import Any

from sda.errors import SdaError

MAX_TENSORS = 100_000
MAX_DIMENSIONS = 8
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


class WeightsHeaderError(SdaError):
    """A safetensors header that does not describe the file it heads (the message says how)."""


def check_tensor_entries(header: dict[str, Any], data_size: int) -> int:
    """Raise unless every tensor fits `data_size` bytes exactly; return the bytes they declare."""
    tensors = {key: info for key, info in header.items() if key != "__metadata__"}
    if len(tensors) > MAX_TENSORS:
        raise WeightsHeaderError(f"it lists {len(tensors):,} tensors (at most {MAX_TENSORS:,})")
    if not isinstance(header.get("__metadata__", {}), dict):
        raise WeightsHeaderError("its __metadata__ is not a JSON object")
    spans = sorted(_span(key, info, data_size) for key, info in tensors.items())
    position = 0
    for begin, end, key in spans:
        if begin != position:
            problem = "overlaps another" if begin < position else "leaves a gap before it"
            raise WeightsHeaderError(f"tensor {key!r:.60} {problem}")
        position = end
    if position != data_size:
        raise WeightsHeaderError(
            f"its tensors cover {position:,} bytes but the file holds {data_size:,}"
        )
    return position


def _span(key: str, info: Any, data_size: int) -> tuple[int, int, str]:
    """(begin, end, key) of one tensor's bytes, after checking dtype, shape and range agree."""
    if not isinstance(info, dict):
        raise WeightsHeaderError(f"tensor {key!r:.60} is not described by a JSON object")
    dtype = info.get("dtype")
    size = DTYPE_BYTES.get(dtype) if isinstance(dtype, str) else None
    if size is None:
        raise WeightsHeaderError(f"tensor {key!r:.60} has unknown dtype {info.get('dtype')!r:.20}")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMENSIONS
        or not all(_whole(side) for side in shape)
    ):
        raise WeightsHeaderError(f"tensor {key!r:.60} has an impossible shape {shape!r:.60}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))):
        raise WeightsHeaderError(f"tensor {key!r:.60} has no valid byte range")
    begin, end = offsets
    wanted = math.prod(shape) * size  # Python ints: absurd shapes cannot wrap around
    if end - begin != wanted:
        raise WeightsHeaderError(
            f"tensor {key!r:.60} declares shape {shape} ({wanted:,} bytes) but a byte range of "
            f"{end - begin:,}"
        )
    if end > data_size:
        raise WeightsHeaderError(
            f"tensor {key!r:.60} needs bytes up to {end:,} but the file holds {data_size:,}"
        )
    return begin, end, key


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
