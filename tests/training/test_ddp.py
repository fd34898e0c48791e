"""DDP on two CPU processes (gloo): the ranks end with the same codec and the same prior.

`sda-train` runs as a console process (Lightning starts rank 1 by re-running its command); the
`ddp_probe.RankProbe` callback, added with `+callbacks.rank_probe`, saves each rank's weights,
buffers (codebooks, EMA counts), dead-code reset counters and codes for a fixed clip.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import factories
import pytest
import torch

from sda.training.weight_average import LIVE_WEIGHTS_KEY

HERE = Path(__file__).parent
DDP_ON_CPU = (
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.strategy=ddp_find_unused_parameters_true",
)


def run_app(module: str, *overrides: str, cwd: Path) -> str:
    """Run `python -m module overrides` with the probe importable; the output of both ranks."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    probe = ("+callbacks.rank_probe._target_=ddp_probe.RankProbe", f"+callbacks.rank_probe.folder={cwd / 'probe'}")  # fmt: skip
    command = [sys.executable, "-m", module, *DDP_ON_CPU, *probe, *overrides]
    code, output = factories.run_group(command, cwd=cwd, env=env, timeout=300)
    assert code == 0, output[-4000:]
    return output


def rank_records(folder: Path) -> tuple[dict, dict]:
    first, second = (torch.load(folder / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert (first["rank"], second["rank"]) == (0, 1)
    assert first["world_size"] == second["world_size"] == 2
    assert first["step"] == second["step"] == 10
    return first, second


def different_tensors(first: dict, second: dict) -> list[str]:
    assert first.keys() == second.keys()
    return [key for key in first if not torch.equal(first[key], second[key])]


@pytest.mark.slow
def test_codec_ranks_end_identical(tmp_path: Path) -> None:
    data = tmp_path / "sounds"
    factories.write_tiny_audio(data, count=4, seconds=2.0)
    output = run_app(
        "sda.training.train_codec",
        "experiment=smoke",  # 10 steps; k-means at the start and again at step 5
        f"data.dir={data}",
        f"data.cache_dir={tmp_path / 'cache'}",
        f"paths.output_dir={tmp_path / 'outputs'}",
        "quantizer.dead_code_fraction=0.5",  # codes die sooner: resets happen within 10 steps
        cwd=tmp_path,
    )
    assert "distributed_backend=gloo" in output
    assert output.count("k-means warm-up:") == 4  # start + refresh, on each rank
    first, second = rank_records(tmp_path / "probe")
    codebooks = [key for key in first["state"] if key.endswith("_codebook.embed")]
    assert len(codebooks) == 4  # smoke: 4 levels
    assert different_tensors(first["state"], second["state"]) == []  # weights, codebooks, EMA
    assert torch.equal(first["codes"], second["codes"])  # same clip -> same codes
    assert first["resets"] == second["resets"]  # dead codes re-seeded alike, step by step
    assert any(sum(step) > 0 for step in first["resets"])
    saved = torch.load(tmp_path / "outputs/codec/smoke/checkpoints/last.ckpt", weights_only=True)
    # the laptop recipe keeps the weights' average as the codec's: the live ones lie beside it
    trained = {**saved["state_dict"], **saved.get(LIVE_WEIGHTS_KEY, {})}
    assert different_tensors(trained, first["state"]) == []


@pytest.mark.slow
def test_prior_ranks_end_identical(tmp_path: Path, tiny_models) -> None:
    codec, _ = tiny_models
    data = tmp_path / "sounds"
    factories.write_tiny_audio(data, count=4, seconds=1.0)
    codec_run = factories.write_codec_run(tmp_path / "codec_run", codec, dataset_dir=data)
    run_app(
        "sda.training.train_prior",
        "experiment=prior_smoke",
        f"codec={codec_run}",
        f"data.cache_dir={tmp_path / 'cache'}",
        f"paths.output_dir={tmp_path / 'outputs'}",
        cwd=tmp_path,
    )
    first, second = rank_records(tmp_path / "probe")
    assert any(key.startswith("prior.") for key in first["state"])
    assert different_tensors(first["state"], second["state"]) == []
    saved = torch.load(
        tmp_path / "outputs/prior/prior_smoke/checkpoints/last.ckpt", weights_only=True
    )
    assert different_tensors(saved["state_dict"], first["state"]) == []
