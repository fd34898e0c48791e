"""A callback the DDP tests add with `+callbacks.rank_probe=...`: each rank saves what it ends with.

It runs inside the training processes (Lightning starts rank 1 as a new process), so it lives in
its own importable module; the tests put this folder on PYTHONPATH.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


def probe_audio(samples: int = 12_000) -> torch.Tensor:
    """The same (2, samples) clip on every rank: a decaying tone and seeded noise."""
    t = torch.arange(samples) / 48_000
    tone = torch.sin(2 * torch.pi * 220 * t) * torch.exp(-4 * t)
    noise = torch.randn(samples, generator=torch.Generator().manual_seed(0)) * 0.1
    return torch.stack([0.4 * tone, noise])


class RankProbe(L.Callback):
    """Writes `rank<N>.pt` into `folder` at the end of training: weights and buffers, the codec's
    dead-code reset counters after every step, and the codes it gives `probe_audio()`."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.resets: list[list[float]] = []  # (steps, levels): counters since the last k-means

    @staticmethod
    def _quantizer(pl_module):
        codec = getattr(pl_module, "codec", None)
        return codec.quantizer if codec is not None else None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        quantizer = self._quantizer(pl_module)
        if quantizer is not None:
            self.resets.append(quantizer.resets.tolist())

    @torch.no_grad()
    def on_train_end(self, trainer, pl_module) -> None:
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "step": trainer.global_step,
            "state": {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()},
            "resets": self.resets,
        }
        if self._quantizer(pl_module) is not None:
            codec = pl_module.codec
            was_training = codec.training
            codec.eval()
            record["codes"] = codec.encode(probe_audio().to(pl_module.device)).cpu()
            codec.train(was_training)
        self.folder.mkdir(parents=True, exist_ok=True)
        torch.save(record, self.folder / f"rank{trainer.global_rank}.pt")
