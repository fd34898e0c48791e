"""Device checks before training: what this machine cannot run is said in one sentence."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from sda.training import devices
from sda.training.errors import TrainingError
from sda.training.fit_run import check_devices


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_ddp_on_cpu_processes_is_fine_up_to_the_core_count(no_gpu, monkeypatch) -> None:
    monkeypatch.setattr(devices, "available_devices", lambda accelerator: 2)
    ddp = {"accelerator": "cpu", "strategy": "ddp_find_unused_parameters_true"}
    assert devices.problem(devices=2, **ddp) is None
    assert devices.is_distributed(devices=2, **ddp)
    message = devices.problem(devices=3, **ddp)
    assert "asks for 3 CPU processes" in message and "has 2 cores" in message
    assert "trainer.devices=2" in message


def test_auto_follows_the_hardware(no_gpu, monkeypatch) -> None:
    assert devices.resolve_accelerator("auto") in ("cpu", "mps")
    ddp = {"accelerator": "cpu", "strategy": "ddp"}
    assert devices.requested_devices("auto", "cpu") == 1
    assert devices.is_distributed(devices="auto", **ddp)  # syncing a lone rank is harmless
    assert "trainer.devices=N" in devices.note(devices="auto", **ddp)
    assert devices.note(devices=2, **ddp) == ""
    assert not devices.is_distributed(accelerator="cpu", devices=4, strategy="auto")


def test_more_gpus_than_there_are(two_gpus, monkeypatch) -> None:
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: True)
    ddp = {"accelerator": "gpu", "strategy": "ddp"}
    assert devices.problem(devices="auto", **ddp) is None
    assert devices.requested_devices("auto", "gpu") == 2
    assert devices.requested_devices([0, 1], "gpu") == 2
    assert devices.requested_devices("0,1", "gpu") == 2
    message = devices.problem(devices=4, **ddp)
    assert "asks for 4 GPUs per node but PyTorch sees 2" in message


def test_a_backend_that_is_not_there(two_gpus, monkeypatch) -> None:
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: False)
    message = devices.problem(accelerator="gpu", devices=2, strategy="ddp")
    assert "nccl backend" in message and "gloo" in message
    strategy = OmegaConf.create(
        {"_target_": "lightning.pytorch.strategies.DDPStrategy", "process_group_backend": "gloo"}
    )
    assert devices.wants_ddp(strategy)
    assert devices.problem(accelerator="gpu", devices=2, strategy=strategy) is None
    nccl_on_cpu = OmegaConf.create({**strategy, "process_group_backend": "nccl"})
    assert "NVIDIA GPUs only" in devices.problem(accelerator="cpu", strategy=nccl_on_cpu)
    typo = OmegaConf.create({**strategy, "process_group_backend": "glo"})
    assert "not a DDP backend" in devices.problem(accelerator="cpu", strategy=typo)


def test_no_gpu_and_no_torch_distributed(no_gpu, monkeypatch) -> None:
    assert "no CUDA GPU" in devices.problem(accelerator="gpu")
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    assert "lacks" in devices.problem(accelerator="cpu", devices=2, strategy="ddp")
    trainer = OmegaConf.create({"accelerator": "gpu", "devices": 2, "strategy": "ddp"})
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        check_devices(trainer)
