"""The prior: a decoder-only transformer over a codec's code grid, conditioned on musical controls.

The grid (levels x frames) is read through the delay pattern (see `delay_pattern.py`), so each
transformer step emits one column: every level at once. Controls (brightness, warmth, ...) enter as
a vector added at every position, one per window or one per frame (training gives each frame the
descriptors of the audio that follows it). A control can be missing (a learned embedding takes its
place), and training hides controls at random so classifier-free guidance can contrast with and
without them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sda.errors import SdaError
from sda.models.delay_pattern import apply_delay, undo_delay


class PriorError(SdaError):
    """Prior settings that cannot work (the message says which value and why)."""


@dataclass
class PriorConfig:
    """Everything needed to rebuild a `Prior`; all primitives, so `asdict()` goes into checkpoints."""

    num_levels: int  # codec levels (read from the codec just before the prior is built)
    codebook_size: int  # codes per level
    dim: int = 256
    layers: int = 6
    heads: int = 4
    context_frames: int = 256  # frames one window sees; longer outputs continue window by window
    num_controls: int = 6
    dropout: float = 0.1
    mlp_ratio: int = 4
    control_features: int = (
        16  # sin/cos features per control value, so the embedding can be non-linear
    )
    control_dropout: float = 0.3  # training: chance each control is hidden ...
    control_drop_all: float = (
        0.2  # ... and chance all are hidden (the unconditional model for guidance)
    )
    codec_fingerprint: str = ""  # the codec these codes come from ("" = unknown)

    def __post_init__(self) -> None:
        for name in ("num_levels", "codebook_size", "dim", "layers", "heads", "context_frames"):
            if int(getattr(self, name)) < 1:
                raise PriorError(
                    f"prior setting {name} must be positive, got {getattr(self, name)}"
                )
        if self.dim % self.heads:
            raise PriorError(f"prior dim ({self.dim}) must be a multiple of heads ({self.heads})")
        for name in ("dropout", "control_dropout", "control_drop_all"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise PriorError(
                    f"prior setting {name} must lie in [0, 1), got {getattr(self, name)}"
                )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PriorConfig:
        """Rebuild from `asdict()` output; unknown keys mean a newer/foreign file and are refused."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise PriorError(f"unknown prior settings {unknown}; was this saved by a newer sda?")
        return cls(**values)

    @property
    def pad_token(self) -> int:
        """Marks a cell with no code: outside the delay pattern, or past the end of a sound."""
        return self.codebook_size

    @property
    def start_token(self) -> int:
        return self.codebook_size + 1

    @property
    def max_positions(self) -> int:
        return self.context_frames + self.num_levels


class LayerCache:
    """Keys and values one attention layer has seen so far, preallocated for a whole window."""

    def __init__(self, batch: int, heads: int, length: int, head_dim: int, *, like: Tensor) -> None:
        self.keys = like.new_zeros((batch, heads, length, head_dim))
        self.values = like.new_zeros((batch, heads, length, head_dim))
        self.length = 0

    def append(self, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        end = self.length + keys.shape[2]
        self.keys[:, :, self.length : end] = keys
        self.values[:, :, self.length : end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


class SelfAttention(nn.Module):
    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.out = nn.Linear(config.dim, config.dim)

    def forward(self, x: Tensor, cache: LayerCache | None = None) -> Tensor:  # (batch, steps, dim)
        batch, steps, dim = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)  # module calls: see Block.forward
        q, k, v = qkv.view(batch, steps, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(k, v)
        mask = None
        if steps > 1 and past > 0:  # a chunk after cached steps: causal, shifted by what is cached
            rows = torch.arange(steps, device=x.device)[:, None] + past
            mask = torch.arange(past + steps, device=x.device)[None, :] <= rows
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            is_causal=steps > 1 and past == 0,
        )
        # Dropout on the heads' output, not on the attention weights: on a CPU, weight dropout
        # forces the unfused attention (a prior step took 1.4x as long) and learned no better
        # per step (experiments/RESULTS.md, "attention dropout").
        if self.training:
            y = F.dropout(y, self.dropout)
        return F.linear(
            y.transpose(1, 2).reshape(batch, steps, dim), self.out.weight, self.out.bias
        )


class Block(nn.Module):
    """Pre-norm transformer block whose norms the controls shift and scale (adaptive LayerNorm).

    Modulating every block gives the controls a short path to every layer: added to the input
    only, they were drowned by the codes and a CPU-budget training never learned to follow them.
    """

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.width = (config.dim,)  # what the two norms (no weights of their own) normalise
        self.attention = SelfAttention(config)
        self.mlp = nn.Sequential(
            nn.Linear(config.dim, config.mlp_ratio * config.dim),
            nn.GELU(),
            nn.Linear(config.mlp_ratio * config.dim, config.dim),
            nn.Dropout(config.dropout),
        )
        self.modulation = nn.Linear(config.dim, 4 * config.dim)  # zero-initialised by the Prior

    def modulate(self, condition: Tensor) -> tuple[Tensor, ...]:
        """(batch, 1 or steps, dim) -> shift1, gain1, shift2, gain2 (gain = 1 + scale), each
        shaped like it."""
        shift1, scale1, shift2, scale2 = self.modulation(condition).chunk(4, dim=-1)
        return shift1, 1 + scale1, shift2, 1 + scale2

    def forward(
        self, x: Tensor, modulation: tuple[Tensor, ...], cache: LayerCache | None = None
    ) -> Tensor:  # x (batch, steps, dim); modulation from `modulate`
        # Functional calls on the modules' weights, not module calls: sampling runs this ~4,000
        # times per 20 s take, and the calls' overhead was ~4 % of a steered take (measured).
        # `mlp` stays a Sequential for its parameters' names in checkpoints.
        shift1, gain1, shift2, gain2 = modulation
        x = x + self.attention.forward(
            torch.addcmul(shift1, F.layer_norm(x, self.width), gain1), cache
        )
        first, _, second, dropout = self.mlp
        hidden = F.gelu(
            F.linear(
                torch.addcmul(shift2, F.layer_norm(x, self.width), gain2), first.weight, first.bias
            )
        )
        out = F.linear(hidden, second.weight, second.bias)
        return x + (F.dropout(out, dropout.p) if self.training else out)


@dataclass(frozen=True)
class Modulation:
    """The conditioning and what the controls make of it in every block and the output norm.

    Computed once per window (`Prior.modulate`): recomputed for every sampled column, these
    linear maps of an unchanged condition took ~15 % of generation time (measured on CPU)."""

    condition: Tensor  # (batch, 1 or steps, dim)
    blocks: tuple[tuple[Tensor, ...], ...]  # per block: `Block.modulate`
    final: tuple[Tensor, ...]  # shift, gain (1 + scale)

    def steps(self, start: int, length: int) -> Modulation:
        """The part for columns start .. start + length (all of it when it is constant)."""
        if self.condition.shape[1] == 1:
            return self
        return self._each(lambda part: part[:, start : start + length])

    def rows(self, index: Tensor) -> Modulation:
        """The modulation of the rows `index` picks."""
        return self._each(lambda part: part[index])

    def _each(self, take: Callable[[Tensor], Tensor]) -> Modulation:
        """The same part (`take`) of the condition and of every modulation tensor."""
        blocks = tuple(tuple(take(part) for part in block) for block in self.blocks)
        return Modulation(take(self.condition), blocks, tuple(take(p) for p in self.final))


class ControlEmbedding(nn.Module):
    """(..., controls) values in 0..1 + presence mask -> (..., dim) conditioning vectors."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        half = config.control_features // 2
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(half).float(), persistent=False
        )
        features = 2 * half + 1
        self.weight = nn.Parameter(torch.randn(config.num_controls, features, config.dim) * 0.02)
        self.bias = nn.Parameter(torch.zeros(config.num_controls, config.dim))
        self.missing = nn.Parameter(torch.randn(config.num_controls, config.dim) * 0.02)
        self.mlp = nn.Sequential(
            nn.GELU(), nn.Linear(config.dim, config.dim), nn.LayerNorm(config.dim)
        )

    def forward(self, controls: Tensor, present: Tensor) -> Tensor:  # (..., controls) -> (..., dim)
        angles = controls[..., None] * self.frequencies  # (..., controls, half)
        features = torch.cat([controls[..., None], angles.sin(), angles.cos()], dim=-1)
        embedded = torch.einsum("...cf,cfd->...cd", features, self.weight) + self.bias
        embedded = torch.where(present[..., None], embedded, self.missing)
        return self.mlp(embedded.sum(dim=-2))


class Prior(nn.Module):
    """p(codes | controls), autoregressive over delayed columns."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = config
        self.vocab = config.codebook_size + 2  # codes + pad + start, per level
        self.token_embedding = nn.Embedding(config.num_levels * self.vocab, config.dim)
        self.position_embedding = nn.Embedding(config.max_positions, config.dim)
        self.controls = ControlEmbedding(config)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.dim, elementwise_affine=False)
        self.final_modulation = nn.Linear(config.dim, 2 * config.dim)
        self.head = nn.Linear(config.dim, config.num_levels * config.codebook_size)
        self.register_buffer(
            "level_offsets", torch.arange(config.num_levels) * self.vocab, persistent=False
        )
        self.apply(self._init_weights)
        for (
            block
        ) in self.blocks:  # start as a plain transformer; the controls' influence is learned
            nn.init.zeros_(block.modulation.weight)
        nn.init.zeros_(self.final_modulation.weight)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def condition(
        self,
        controls: Tensor
        | None,  # (batch, controls) for the whole window, or (batch, steps, controls)
        control_mask: Tensor | None,  # (batch, controls) or like `controls`, bool, True = given
        batch: int,
        device: torch.device,
    ) -> Tensor:  # -> (batch, 1 or steps, dim)
        """Conditioning vectors; controls missing from the mask use learned stand-ins."""
        num = self.config.num_controls
        if controls is None:
            controls = torch.zeros(batch, num, device=device)
            control_mask = torch.zeros(batch, num, dtype=torch.bool, device=device)
        elif control_mask is None:
            control_mask = torch.ones(batch, num, dtype=torch.bool, device=device)
        controls = (
            controls if controls.dim() == 3 else controls[:, None]
        )  # (batch, steps, controls)
        control_mask = control_mask.bool()
        if control_mask.dim() == 2:
            control_mask = control_mask[:, None]  # (batch, 1 or steps, controls)
        if self.training:  # condition dropout teaches the model to work without some/all controls
            keep = torch.rand(batch, 1, num, device=device) >= self.config.control_dropout
            keep_any = torch.rand(batch, 1, 1, device=device) >= self.config.control_drop_all
            control_mask = control_mask & keep & keep_any
        mask = control_mask.expand(controls.shape)
        return self.controls(controls.float(), mask)

    def modulate(self, condition: Tensor) -> Modulation:
        """What the conditioning (batch, 1 or steps, dim) makes of every block and the output
        norm; pass it to `forward_columns` instead of the condition to compute it only once."""
        shift, scale = self.final_modulation(condition).chunk(2, dim=-1)
        final = (shift, 1 + scale)
        return Modulation(
            condition, tuple(block.modulate(condition) for block in self.blocks), final
        )

    def new_cache(self, batch: int, *, like: Tensor) -> list[LayerCache]:
        head_dim = self.config.dim // self.config.heads
        return [
            LayerCache(batch, self.config.heads, self.config.max_positions, head_dim, like=like)
            for _ in self.blocks
        ]

    def forward_columns(
        self,
        tokens: Tensor,  # (batch, levels, steps) input columns: codes, pad or start
        condition: Tensor | Modulation,  # (batch, 1 or steps, dim), or `modulate` of it
        *,
        cache: list[LayerCache] | None = None,
        offset: int = 0,  # position of the first column (the number already in `cache`)
        head: Callable[[Tensor], Tensor] | None = None,  # the output map; None: `self.head`
        last: int | None = None,  # logits of the last `last` steps only (a prefill: last=1)
    ) -> Tensor:  # -> (batch, levels, steps, codebook_size): logits of the NEXT column at each step
        batch, levels, steps = tokens.shape
        if offset + steps > self.config.max_positions:
            raise ValueError(
                f"{offset + steps} columns exceed the prior's context of {self.config.max_positions}"
            )
        modulation = condition if isinstance(condition, Modulation) else self.modulate(condition)
        flat = tokens + self.level_offsets[:, None]
        # functional calls, as in Block.forward: ~12 fewer module calls per sampled column
        x = F.embedding(flat, self.token_embedding.weight).sum(dim=1)  # (batch, steps, dim)
        positions = torch.arange(offset, offset + steps, device=tokens.device)
        x = x + F.embedding(positions, self.position_embedding.weight) + modulation.condition
        for index, block in enumerate(self.blocks):
            x = block.forward(x, modulation.blocks[index], None if cache is None else cache[index])
        shift, gain = modulation.final
        if last is not None:  # the output map is a fifth of a prefill's arithmetic
            steps = min(last, steps)
            x, shift, gain = x[:, -steps:], shift[:, -steps:], gain[:, -steps:]
        x = torch.addcmul(
            shift, F.layer_norm(x, self.norm.normalized_shape, eps=self.norm.eps), gain
        )
        logits = (head or self.head)(x).view(batch, steps, levels, self.config.codebook_size)
        return logits.permute(0, 2, 1, 3)

    def delayed_logits(
        self,
        codes: Tensor,  # (batch, levels, frames); `pad_token` marks frames past a sound's end
        controls: Tensor | None = None,  # (batch, num_controls) or (batch, frames, num_controls)
        control_mask: Tensor | None = None,  # (batch, num_controls) bool, True = given
        last_columns: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Logits (batch, levels, columns, codebook_size) for every cell of the delayed grid (or
        its `last_columns` columns), and that grid (batch, levels, columns): what each cell's
        logits predict (`pad` at the edges)."""
        batch, levels, frames = codes.shape
        if levels != self.config.num_levels:
            raise ValueError(f"the prior expects {self.config.num_levels} levels, got {levels}")
        delayed = apply_delay(codes, self.config.pad_token)  # (batch, levels, columns)
        start = delayed.new_full((batch, levels, 1), self.config.start_token)
        inputs = torch.cat([start, delayed[:, :, :-1]], dim=2)
        if controls is not None and controls.dim() == 3:  # per frame: the column of frame t is t
            tail = controls[:, -1:].expand(-1, levels - 1, -1)
            controls = torch.cat([controls, tail], dim=1)  # (batch, columns, num_controls)
            if control_mask is not None and control_mask.dim() == 3:
                tail = control_mask[:, -1:].expand(-1, levels - 1, -1)
                control_mask = torch.cat([control_mask, tail], dim=1)
        condition = self.condition(controls, control_mask, batch, codes.device)
        return self.forward_columns(inputs, condition, last=last_columns), delayed

    def forward(
        self,
        codes: Tensor,  # (batch, levels, frames); `pad_token` marks frames past a sound's end
        controls: Tensor | None = None,  # (batch, num_controls) or (batch, frames, num_controls)
        control_mask: Tensor | None = None,  # (batch, num_controls) bool, True = given
        *,
        last_frames: int | None = None,  # logits of the last frames only
    ) -> Tensor:  # -> (batch, levels, frames, codebook_size): logits for each cell of `codes`
        if last_frames is None:
            return undo_delay(self.delayed_logits(codes, controls, control_mask)[0])
        # frame t's level l is the delayed grid's column t + l: the last frames' cells lie in
        # its last last_frames + levels - 1 columns, level l from column l on
        frames, levels = min(last_frames, codes.shape[2]), codes.shape[1]
        logits = self.delayed_logits(codes, controls, control_mask, frames + levels - 1)[0]
        return torch.stack([logits[:, level, level : level + frames] for level in range(levels)], 1)

    def loss(
        self,
        codes: Tensor,  # (batch, levels, frames)
        controls: Tensor | None = None,
        control_mask: Tensor | None = None,
        *,
        label_smoothing: float = 0.0,
        keep_logits: bool = True,
    ) -> tuple[Tensor, Tensor | None]:  # -> (scalar loss, logits as `forward` gives them or None)
        """Mean cross-entropy over the real cells of `codes`.

        Scored on the delayed grid, whose extra cells are `pad` and ignored: the same cells as
        `forward`'s, without moving a (batch, levels, columns, codebook) tensor and its gradient
        back into frame order (with 17 levels x 1024 codes a CPU step took 4.3 s with it, 1.5 s
        without; experiments/RESULTS.md)."""
        logits, targets = self.delayed_logits(codes, controls, control_mask)
        loss = F.cross_entropy(
            logits.transpose(1, 2).reshape(-1, self.config.codebook_size),  # contiguous again
            targets.transpose(1, 2).reshape(-1),
            ignore_index=self.config.pad_token,
            label_smoothing=label_smoothing,
        )
        return loss, (undo_delay(logits.detach()) if keep_logits else None)
