"""Training draws carry on across a resume, and resuming prints no Lightning warning about it."""

from __future__ import annotations

import warnings
from pathlib import Path

import factories
import torch
from torch.utils.data import Dataset

from sda.training.resumable_draws import DrawSeeds, ResumableLoader
from sda.training.train_codec import compose_config, train


class Seeds(Dataset):
    """Item `seed` is the seed itself: what a loader drew, batch by batch."""

    def __len__(self) -> int:
        return 24

    def __getitem__(self, seed: int) -> torch.Tensor:
        return torch.tensor(seed)


def loader(seed: int = 0) -> ResumableLoader:
    return ResumableLoader(Seeds(), batch_size=4, sampler=DrawSeeds(24, seed), drop_last=True)


def drawn(batches) -> list[int]:
    return [int(x) for batch in batches for x in batch]


def test_a_resumed_loader_carries_on_where_the_saved_one_stopped() -> None:
    straight = loader()
    passes = [drawn(straight) for _ in range(2)]
    assert passes[0] != passes[1] and len(set(passes[0])) == 24  # each pass: new seeds

    first = loader()
    iterator = iter(first)
    head = drawn(next(iterator) for _ in range(2))
    state = first.state_dict()
    assert state == {"pass": 0, "draws": 8}
    resumed = loader()
    resumed.load_state_dict(state)
    rest = drawn(resumed)[:16]  # Lightning stops at the epoch's batch count
    assert head + rest == passes[0]
    assert resumed.state_dict() == {"pass": 1, "draws": 0}  # the pass is used up
    again = loader()
    again.load_state_dict(resumed.state_dict())
    assert drawn(again) == passes[1]


def test_under_ddp_each_rank_carries_on_too() -> None:
    """Lightning wraps the sampler for DDP; every rank resumes from rank 0's saved state."""
    from lightning.fabric.utilities.distributed import DistributedSamplerWrapper

    def rank_loader(rank: int) -> ResumableLoader:
        wrapper = DistributedSamplerWrapper(
            DrawSeeds(24, 0), num_replicas=2, rank=rank, shuffle=False
        )
        return ResumableLoader(Seeds(), batch_size=4, sampler=wrapper)

    straight = [drawn(rank_loader(rank)) for rank in (0, 1)]
    first = rank_loader(0)
    iterator = iter(first)
    next(iterator)
    state = first.state_dict()
    assert state == {"pass": 0, "draws": 8}  # one batch on each of two ranks
    for rank in (0, 1):
        resumed = rank_loader(rank)
        resumed.load_state_dict(state)
        assert drawn(resumed)[:8] == straight[rank][4:]


def test_a_resume_prints_no_lightning_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    factories.write_tiny_audio(data, count=2, seconds=1.0)

    def run(steps: int) -> list[str]:
        cfg = compose_config(
            [
                "experiment=smoke",
                f"data.dir={data}",
                f"paths.output_dir={tmp_path / 'outputs'}",
                f"data.cache_dir={tmp_path / 'cache'}",
                f"trainer.max_steps={steps}",
                "trainer.limit_val_batches=0",
                "trainer.num_sanity_val_steps=0",
                "callbacks.codec_monitor=null",
            ]
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train(cfg)
        return [str(w.message) for w in caught]

    run(1)
    said = run(2)  # mid-epoch (an epoch is 5 steps): Lightning used to warn here
    assert not [m for m in said if "resum" in m or "exists and is not empty" in m], said
    last = torch.load(tmp_path / "outputs" / "codec" / "smoke" / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 2
    assert last["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"pass": 0, "draws": 8}]
