"""Where a training run goes: the accelerator, how many devices and, for DDP, the backend.

Checked before Lightning starts, so a request this machine cannot serve (GPUs it does not have,
more DDP processes than cores, a backend missing from this PyTorch build) ends in one sentence
that says what to change, not in a stack trace from a rank that has already started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch

BACKENDS = ("gloo", "nccl", "mpi")  # torch.distributed's process-group backends


def wants_ddp(strategy: Any) -> bool:
    """True for Lightning's DDP strategies: "ddp", "ddp_find_unused_parameters_true", a
    `DDPStrategy` node (`_target_`); False for "auto", "single_device", ..."""
    if isinstance(strategy, Mapping):
        return "DDPStrategy" in str(strategy.get("_target_", ""))
    return str(strategy).startswith("ddp")


def resolve_accelerator(accelerator: Any) -> str:
    """The accelerator Lightning will use: `auto` is a CUDA GPU, else Apple MPS, else the CPU;
    `cuda` is called `gpu`."""
    name = str(accelerator or "cpu").lower()
    if name == "cuda":
        return "gpu"
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "gpu"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def available_devices(accelerator: str) -> int:
    """GPUs PyTorch sees, 1 for a working MPS device, or the CPU cores this process may use."""
    if accelerator == "gpu":
        return torch.cuda.device_count()
    if accelerator == "mps":
        return int(torch.backends.mps.is_available())
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def requested_devices(devices: Any, accelerator: str) -> int:
    """How many processes Lightning starts per node for `trainer.devices` (auto: every GPU, one
    CPU process; -1: all of them; a list: those)."""
    if isinstance(devices, Sequence) and not isinstance(devices, str):  # a list, a ListConfig
        return len(devices)
    text = str(devices).strip().lower()
    if text == "auto":
        return available_devices(accelerator) if accelerator == "gpu" else 1
    if text == "-1":
        return available_devices(accelerator)
    if "," in text:  # "0,1": those GPU indices
        return len([part for part in text.split(",") if part.strip()])
    try:
        return int(text)
    except ValueError:  # not a count: Lightning will say what it expects
        return 1


def is_distributed(
    *, accelerator: Any = "auto", devices: Any = 1, strategy: Any = "auto", num_nodes: Any = 1
) -> bool:
    """True when the run may have several ranks, so codebooks must be synced between them
    (devices=auto counts as several: syncing a lone rank costs nothing)."""
    if not wants_ddp(strategy):
        return False
    if str(devices).strip().lower() in ("-1", "auto") or int(num_nodes or 1) > 1:
        return True
    return requested_devices(devices, resolve_accelerator(accelerator)) > 1


def _backend_problem(backend: str, accelerator: str) -> str | None:
    if backend not in BACKENDS:
        return (
            f"process_group_backend={backend} is not a DDP backend: use one of "
            f"{', '.join(BACKENDS)} (gloo on CPUs, nccl on NVIDIA GPUs)"
        )
    if backend == "nccl" and accelerator != "gpu":
        return "the nccl backend runs on NVIDIA GPUs only: use process_group_backend=gloo on CPUs"
    available = getattr(torch.distributed, f"is_{backend}_available")()
    if available:
        return None
    hint = {
        "nccl": "this PyTorch build lacks NCCL (Windows and CPU-only builds do): set the DDP "
        "strategy's process_group_backend to gloo (see the README, 'On a SLURM cluster')",
        "gloo": "install the standard PyTorch build for your platform",
        "mpi": "PyTorch must be built from source with MPI for it: use gloo or nccl",
    }[backend]
    return f"the {backend} backend that DDP would use is not in this PyTorch build: {hint}"


def problem(
    *, accelerator: Any, devices: Any = 1, strategy: Any = "auto", num_nodes: Any = 1
) -> str | None:
    """Why this machine cannot run the trainer settings (one sentence), or None when it can."""
    wanted = str(accelerator or "cpu").lower()
    name = resolve_accelerator(accelerator)
    if name == "gpu" and not torch.cuda.is_available():
        return (
            f"trainer.accelerator={wanted} (trainer=gpu or ddp) was chosen but no CUDA GPU is "
            "visible to PyTorch: use trainer=cpu (or trainer=mps on Apple silicon)"
        )
    if name == "mps" and available_devices("mps") == 0:
        return "trainer=mps was chosen but Apple MPS is not available here: use trainer=cpu"
    if not wants_ddp(strategy):
        return None
    if not torch.distributed.is_available():
        return (
            "trainer=ddp needs torch.distributed, which this PyTorch build lacks: train on one "
            "device (trainer=cpu, gpu or mps)"
        )
    if name == "mps":
        return (
            "DDP does not run on Apple MPS (one GPU per Mac): use trainer=mps, or "
            "trainer=ddp trainer.accelerator=cpu trainer.devices=2 for CPU processes"
        )
    explicit = strategy.get("process_group_backend") if isinstance(strategy, Mapping) else None
    backend = str(explicit or ("nccl" if name == "gpu" else "gloo"))
    trouble = _backend_problem(backend, name)
    if trouble:
        return trouble
    count, have = requested_devices(devices, name), available_devices(name)
    if count > have:
        what = "GPUs" if name == "gpu" else "CPU processes"
        where = "PyTorch sees" if name == "gpu" else "this machine has"
        unit = "" if name == "gpu" else " cores"
        return (
            f"trainer.devices={devices} asks for {count} {what} per node but {where} {have}{unit}: "
            f"set trainer.devices={have} or fewer"
            + (" (auto: every GPU)" if name == "gpu" else " (each DDP process needs a core)")
        )
    return None


def note(*, accelerator: Any, devices: Any = 1, strategy: Any = "auto", num_nodes: Any = 1) -> str:
    """Advice worth a log line (empty when none): DDP on the CPU that will start one process."""
    name = resolve_accelerator(accelerator)
    single = requested_devices(devices, name) == 1 and int(num_nodes or 1) == 1
    if wants_ddp(strategy) and name == "cpu" and single:
        return (
            "trainer=ddp on the CPU with one device runs one process: pass trainer.devices=N "
            "for N processes (gloo backend)"
        )
    return ""
