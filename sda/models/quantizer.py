"""Residual vector quantizer: a thin wrapper of `vector_quantize_pytorch.ResidualVQ`.

It adds what small-data training needs and the library leaves to the caller: an explicit k-means
warm-up on a large batch (so Lightning's sanity validation can never seed the codebooks), a
dead-code threshold expressed relative to the vectors in a batch, usage/perplexity and reset
counters per level, and side-effect-free `latents_to_codes` / `codes_to_latents` for inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from vector_quantize_pytorch import ResidualVQ

from sda.models.kmeans import kmeans, nearest_codes


@dataclass
class QuantizerOutput:
    quantized: Tensor  # (batch, dim, frames), straight-through gradients to the latents
    codes: Tensor  # (batch, levels, frames) long; -1 marks levels dropped this step
    commit_loss: Tensor  # scalar: sum over levels of the commitment MSE


@dataclass
class CodebookStats:
    """Per level, over the steps since the last `pop_stats()`."""

    perplexity: list[float]  # exp(entropy) of code usage; codebook_size means perfectly uniform
    used_fraction: list[float]  # share of codes hit at least once
    dead_code_resets: list[int]  # codes re-seeded from the batch because they fell silent
    vectors: int  # latent vectors counted (per level 0)


class Quantizer(nn.Module):
    """`num_levels` Euclidean EMA codebooks of `codebook_size` codes, coarse (level 0) to fine.

    Choices made against the library's defaults: EMA decay 0.99 (not 0.8, which forgets a tiny
    dataset's rare sounds within a few steps); k-means init only through `warm_up`; Euclidean
    lookup (`use_cosine_sim` would l2-normalise codes and latents, which is not DAC's factorised
    lookup and discards the latent norm); plain straight-through gradients by default
    (`rotation_trick=False`): codebooks learn by EMA, not by gradient, and the rotation trick's
    per-level |q|/|e| rescaling of the encoder gradient is an unmeasured variable here, so it
    stays an option. `sync_codebook` is always passed explicitly (True only under DDP).
    """

    def __init__(
        self,
        *,
        dim: int,
        num_levels: int,
        codebook_size: int,
        decay: float = 0.99,
        kmeans_iters: int = 10,
        commitment_weight: float = 1.0,
        rotation_trick: bool = False,
        sync_codebook: bool = False,
    ) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.codebook_size = codebook_size
        # Dead-code replacement starts disabled; `configure_dead_codes` turns it on once the batch
        # size is known (the library's threshold counts hits per batch, see there).
        self.rvq = ResidualVQ(
            dim=dim,
            num_quantizers=num_levels,
            codebook_size=codebook_size,
            decay=decay,
            kmeans_init=True,
            kmeans_iters=kmeans_iters,
            threshold_ema_dead_code=0,
            commitment_weight=commitment_weight,
            rotation_trick=rotation_trick,
            straight_through=False,
            quantize_dropout=num_levels > 1,
            quantize_dropout_cutoff_index=0,
            sync_codebook=sync_codebook,
        )
        self.register_buffer("usage", torch.zeros(num_levels, codebook_size), persistent=False)
        self.register_buffer("resets", torch.zeros(num_levels), persistent=False)

    # --- state -------------------------------------------------------------------------------
    @property
    def _codebooks(self) -> list[nn.Module]:
        return [layer._codebook for layer in self.rvq.layers]

    @property
    def initialized(self) -> bool:
        return all(bool(cb.initted) for cb in self._codebooks)

    @property
    def codebooks(self) -> Tensor:
        return self.rvq.codebooks  # (levels, codebook_size, dim)

    def configure_dead_codes(self, *, vectors_per_batch: int, fraction: float) -> float:
        """Re-seed codes whose EMA hit count falls below `fraction` of the average per batch.

        `ResidualVQ`'s `threshold_ema_dead_code` is compared with an EMA of hits *per batch*, so a
        fixed value like 2 kills most codes every step when a batch holds few vectors per code.
        A re-seeded code starts at the average count, which gives it ~log(fraction)/log(decay)
        steps to win vectors before it can be declared dead again. Returns the threshold.
        """
        average = vectors_per_batch / self.codebook_size
        threshold = fraction * average
        for codebook in self._codebooks:
            codebook.threshold_ema_dead_code = threshold
            codebook.reset_cluster_size = average
            codebook.has_dead_code_replacement = threshold > 0
        return threshold

    @torch.no_grad()
    def reinitialize(self) -> None:
        """Forget the codebooks so the next `warm_up` runs k-means again (on fresher latents)."""
        for codebook in self._codebooks:
            codebook.initted.fill_(False)

    @torch.no_grad()
    def warm_up(self, latents: Tensor, *, vectors_per_batch: int | None = None) -> bool:
        """k-means-initialise every level from `latents` (batch, dim, frames) unless done already.

        Level by level, as the residual quantizer sees them: level 0 on the latents, each next
        level on what the levels before leave. Pass at least ~20x codebook_size vectors: fewer
        make k-means duplicate vectors and memorise that batch. The EMA statistics are then
        rescaled to `vectors_per_batch` so the dead-code threshold is met on the same scale.
        Returns True when it initialised the codebooks.
        """
        if self.initialized:
            return False
        residual = latents.transpose(1, 2).reshape(-1, latents.shape[1]).float()  # (n, dim)
        for codebook in self._codebooks:
            embed = self._seed_codebook(codebook, residual)
            residual = residual - embed[nearest_codes(residual, embed)]
        if vectors_per_batch:
            scale = vectors_per_batch / residual.shape[0]
            for codebook in self._codebooks:
                codebook.cluster_size.mul_(scale)
                codebook.embed_avg.mul_(scale)
        self.usage.zero_()
        self.resets.zero_()
        return True

    def _seed_codebook(self, codebook: nn.Module, vectors: Tensor) -> Tensor:
        """k-means one level's codebook on (n, dim) vectors; returns its codes (codes, dim).

        Leaves the library's state as its own k-means init would (EMA sums and counts, smoothed
        codes, `initted`), with its sampler and all-reduce: under DDP every rank starts from the
        same sampled vectors and ends with the same codes.
        """
        first_means = codebook.sample_fn(vectors.unsqueeze(0), self.codebook_size)[0]
        means, counts = kmeans(
            vectors,
            self.codebook_size,
            iterations=codebook.kmeans_iters,
            first_means=first_means,
            all_reduce=codebook.kmeans_all_reduce_fn,
        )
        codebook.embed_avg.copy_((means * counts.unsqueeze(-1)).unsqueeze(0))
        codebook.cluster_size.copy_(counts.unsqueeze(0))
        codebook.update_ema()  # codes that won no vector become zeros, re-seeded once dead
        codebook.initted.fill_(True)
        return codebook.embed[0].float()

    # --- forward / inference -------------------------------------------------------------------
    def forward(self, latents: Tensor, *, dropout: bool = False) -> QuantizerOutput:
        """Training-path quantization (EMA updates, dead-code resets, straight-through gradients).

        `dropout=True` stops at one random level for the whole batch, so every prefix of levels
        learns to decode; the caller decides per step (and identically on every DDP rank).
        """
        if not self.training:
            codes = self.latents_to_codes(latents)
            return QuantizerOutput(self.codes_to_latents(codes), codes, latents.new_zeros(()))
        self.rvq.quantize_dropout = dropout and self.num_levels > 1
        quantized, codes, losses = self.rvq(latents.transpose(1, 2))
        codes = codes.transpose(1, 2)  # (batch, levels, frames)
        self._count(codes)
        return QuantizerOutput(quantized.transpose(1, 2), codes, losses.sum())

    @torch.no_grad()
    def latents_to_codes(self, latents: Tensor) -> Tensor:
        """Greedy residual nearest-code search, no side effects: (batch, dim, frames) -> (batch, levels, frames)."""
        residual = latents.transpose(1, 2).float()  # (batch, frames, dim)
        codes = []
        for codebook in self.codebooks.float():
            distance = codebook.square().sum(-1) - 2 * residual @ codebook.T  # + |r|^2, constant
            index = distance.argmin(dim=-1)
            residual = residual - codebook[index]
            codes.append(index)
        return torch.stack(codes, dim=1)

    def codes_to_latents(self, codes: Tensor, levels: int | None = None) -> Tensor:
        """Sum of the code vectors of the first `levels` levels: (batch, L, frames) -> (batch, dim, frames).

        `codes` may hold fewer than `num_levels` rows (a coarse prefix); -1 entries add nothing.
        """
        levels = codes.shape[1] if levels is None else min(levels, codes.shape[1])
        codebooks = self.codebooks
        out = codebooks.new_zeros(codes.shape[0], codes.shape[2], codebooks.shape[-1])
        for level in range(levels):
            index = codes[:, level]
            vectors = codebooks[level][index.clamp(min=0)]
            out = out + vectors * (index >= 0).unsqueeze(-1)
        return out.transpose(1, 2)

    # --- statistics ----------------------------------------------------------------------------
    @torch.no_grad()
    def _count(self, codes: Tensor) -> None:
        for level in range(self.num_levels):
            index = codes[:, level].reshape(-1)
            if index.numel() == 0 or index[0] < 0:  # level dropped this step
                continue
            self.usage[level] += torch.bincount(index, minlength=self.codebook_size).float()
            codebook = self._codebooks[level]
            if codebook.has_dead_code_replacement:
                # a code re-seeded in this very step holds exactly the reset count
                reset = codebook.cluster_size[0] == codebook.reset_cluster_size
                self.resets[level] += reset.sum()

    @torch.no_grad()
    def pop_stats(self) -> CodebookStats:
        """Statistics since the last call; resets the counters."""
        perplexity, used = [], []
        for counts in self.usage:
            total = float(counts.sum())
            if total == 0:
                perplexity.append(0.0)
                used.append(0.0)
                continue
            p = counts / total
            entropy = -(p[p > 0] * p[p > 0].log()).sum()
            perplexity.append(math.exp(float(entropy)))
            used.append(float((counts > 0).float().mean()))
        stats = CodebookStats(
            perplexity=perplexity,
            used_fraction=used,
            dead_code_resets=[int(r) for r in self.resets],
            vectors=int(self.usage[0].sum()),
        )
        self.usage.zero_()
        self.resets.zero_()
        return stats
