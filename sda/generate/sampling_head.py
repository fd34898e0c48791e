"""The prior's output map as sampling uses it: a large head in bfloat16 where the CPU has it.

A stereo prior over 1,024 codes ends in a 192 x 16,384 map, 12.6 MB of float32 weights streamed
from memory for every drawn column; in bfloat16 on a CPU with native bfloat16 instructions that
map took a quarter to a half of the time (experiments/RESULTS.md, "large codebooks"). Small heads
stay float32: there the conversion costs more than it saves. The choice depends only on the
prior and the machine, so a seed still gives one take on a given machine.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from sda.models.prior import Prior

BF16_MIN_OUTPUTS = 4096  # below this the float32 map was as fast or faster (x86_64, 1 thread)


def native_bf16() -> bool:
    """True where the CPU does bfloat16 arithmetic itself (AVX512-BF16 or AMX), not emulated."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def sampling_head(prior: Prior) -> Callable[[Tensor], Tensor]:
    """The prior's head, or a bfloat16 copy of it (float32 logits out) for a large head on a CPU
    with native bfloat16; make it once per window, not per column."""
    head = prior.head
    if (
        head.weight.device.type != "cpu"
        or head.out_features < BF16_MIN_OUTPUTS
        or not native_bf16()
    ):
        return head
    weight = head.weight.detach().to(torch.bfloat16)
    bias = None if head.bias is None else head.bias.detach().to(torch.bfloat16)

    def bf16_head(x: Tensor) -> Tensor:
        return F.linear(x.to(torch.bfloat16), weight, bias).float()

    return bf16_head
