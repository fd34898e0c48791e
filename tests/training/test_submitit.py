"""The SLURM path: the conf/hydra/launcher presets become the right #SBATCH lines, and a sweep runs
through submitit's local executor (the same launcher code, without a cluster)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import factories
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sda.training.train_codec import CONFIG_DIR

submitit = pytest.importorskip("submitit")


def launcher_params(*overrides: str) -> dict:
    """`hydra.launcher` of the codec app as the submitit plugin reads it, interpolations resolved."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train_codec",
            overrides=["data.dir=/sounds", "recipe=codec_cpu", *overrides],
            return_hydra_config=True,
        )
    return OmegaConf.to_container(cfg.hydra.launcher, resolve=True)


def sbatch_text(params: dict, folder: Path) -> str:
    """The sbatch script submitit would submit for these launcher settings (nothing submitted).

    Mirrors hydra_submitit_launcher's SlurmLauncher.launch: plugin keys outside the shared
    queue settings get the executor's `slurm_` prefix.
    """
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    shared = set(OmegaConf.structured(BaseQueueConf).keys())
    executor = submitit.AutoExecutor(cluster="slurm", folder=folder)
    for key in ("_target_", "submitit_folder", "max_num_timeout"):
        params.pop(key)
    executor.update_parameters(**{k if k in shared else f"slurm_{k}": v for k, v in params.items()})
    return executor._executor._make_submission_file_text("python -c pass", "test")


def test_slurm_presets_become_sbatch_lines(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "bin"  # submitit refuses to start without srun on PATH; it is never run
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    gpu = launcher_params(
        "hydra/launcher=slurm_gpu",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.gpus_per_node=4",
        "trainer=ddp",
        "trainer.num_nodes=2",
    )
    assert gpu["_target_"].endswith("SlurmLauncher")
    text = sbatch_text(gpu, tmp_path / "jobs")
    for line in ("--partition=gpu", "--gpus-per-node=4", "--ntasks-per-node=4", "--nodes=2",
                 "--cpus-per-task=8", "--mem=64GB", "--time=720"):  # fmt: skip
        assert f"#SBATCH {line}\n" in text
    cpu = sbatch_text(launcher_params("hydra/launcher=slurm_cpu"), tmp_path / "jobs")
    assert "#SBATCH --ntasks-per-node=1\n" in cpu and "gpus" not in cpu
    # the plugin's own choices still compose beside ours
    assert launcher_params("hydra/launcher=submitit_slurm")["timeout_min"] == 60
    assert launcher_params("hydra/launcher=submitit_local")["_target_"].endswith("LocalLauncher")


@pytest.mark.slow
def test_a_two_job_sweep_through_submitit_local(tmp_path: Path) -> None:
    data = tmp_path / "sounds"
    factories.write_tiny_audio(data, count=2, seconds=1.0)
    command = [
        sys.executable, "-m", "sda.training.train_codec", "-m",
        "hydra/launcher=submitit_local", "experiment=smoke", f"data.dir={data}",
        f"data.cache_dir={tmp_path / 'cache'}", "trainer.max_steps=2,3",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    code, output = factories.run_group(command, cwd=tmp_path, env=env, timeout=300)
    assert code == 0, output[-4000:]
    sweep = tmp_path / "outputs" / "sweeps" / "smoke"
    steps = [
        torch.load(sweep / job / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for job in ("0", "1")
    ]
    assert steps == [2, 3]
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2  # ran as submitit jobs
