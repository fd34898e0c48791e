"""The steps both training apps share: start a run, find where it resumes, save its config, fit.

`train_codec.train` and `train_prior.train` read as prepare -> build -> fit; the prepare and fit
steps that are the same for a codec and a prior live here, so a fix to resuming or saving lands
once.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from omegaconf import DictConfig, OmegaConf

from sda.training import devices, recipes
from sda.training.checkpoint_io import SafeCheckpointIO, remove_unfinished_saves
from sda.training.config_checks import check_config
from sda.training.errors import TrainingError

log = logging.getLogger(__name__)

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
# Lightning warnings that say nothing to a musician (manual optimization is deliberate here;
# the checkpoint folder of a run being resumed is not empty, by design)
_NOISE = (
    ".*Using ModelCheckpoint with manual optimization.*",
    ".*isinstance.treespec, LeafSpec.*",
    ".*does not have many workers.*",
    ".*Checkpoint directory .* exists and is not empty.*",
)


def silence_noise() -> None:
    """Hide the Lightning warnings in `_NOISE` (both apps)."""
    for message in _NOISE:
        warnings.filterwarnings("ignore", message=message)


def checked_config(cfg: DictConfig, app: str) -> DictConfig:
    """A private copy of `cfg`, its values checked (TrainingError naming the key) before any data
    or model is read; announces the recipe. `app` is "codec" or "prior"."""
    silence_noise()
    cfg = copy.deepcopy(cfg)
    check_config(cfg, app)
    recipes.announce(cfg.get("recipe"), app=app)
    return cfg


def device_settings(trainer_cfg: DictConfig) -> dict[str, Any]:
    """The trainer keys that decide which devices a run uses, with Lightning's defaults."""
    return {
        "accelerator": trainer_cfg.get("accelerator", "cpu"),
        "devices": trainer_cfg.get("devices", 1),
        "strategy": trainer_cfg.get("strategy", "auto"),
        "num_nodes": trainer_cfg.get("num_nodes", 1),
    }


def check_devices(trainer_cfg: DictConfig) -> None:
    """TrainingError in one sentence when this machine cannot run the trainer settings."""
    settings = device_settings(trainer_cfg)
    trouble = devices.problem(**settings)
    if trouble:
        raise TrainingError(trouble)
    advice = devices.note(**settings)
    if advice:
        log.info(advice)


def open_run_dir(cfg: DictConfig, *, fast_matmul: bool = False) -> Path:
    """Make the run folder and set up torch for the run: threads, seed, and (codec, on a GPU)
    TF32 matrix products."""
    run_dir = Path(str(cfg.paths.run_dir)).expanduser().resolve()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise TrainingError(
            f"cannot make the run folder {run_dir}: a file is in the way; "
            "set paths.output_dir to a folder"
        ) from None
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    if fast_matmul and devices.resolve_accelerator(cfg.trainer.get("accelerator")) == "gpu":
        torch.set_float32_matmul_precision("high")
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    return run_dir


@dataclass(frozen=True)
class Resume:
    """Where a run continues: a checkpoint, its hyper-parameters and step (empty: a fresh run)."""

    checkpoint: Path | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    step: int = 0


def find_resume(cfg: DictConfig, run_dir: Path, *, kind: str) -> Resume:
    """The newest readable checkpoint of the run whose hyper-parameters hold a `kind` ("codec" or
    "prior") record, or an empty `Resume`.

    last.ckpt first; if a crash left it truncated, the newest step file saved beside it. best.ckpt
    is never a fallback: it is saved at every new best (so often the newest file) but holds older
    weights, and resuming from it would throw away the steps since. resume=false moves old
    checkpoints aside (never deletes them) and starts over.
    """
    folder = run_dir / "checkpoints"
    freed = remove_unfinished_saves(folder)
    if freed:
        log.info("removed %.0f MB of checkpoint saves a killed run left unfinished", freed / 1e6)
    candidates = [run_dir / LAST_CHECKPOINT] + sorted(
        (p for p in folder.glob("*.ckpt") if p.name not in ("last.ckpt", "best.ckpt")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    candidates = [p for p in candidates if p.is_file()]
    if not candidates:
        return Resume()
    if not cfg.get("resume", True):
        aside = run_dir / f"checkpoints-replaced-{time.strftime('%Y%m%d-%H%M%S')}"
        folder.rename(aside)
        log.info("resume=false: previous checkpoints moved to %s", aside)
        return Resume()
    problems = []
    for path in candidates:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            hparams = dict(ckpt["hyper_parameters"])
            if not isinstance(hparams.get(kind), dict):  # e.g. a codec checkpoint in a prior run
                raise KeyError(kind)
        except Exception as error:  # truncated by a crash mid-save, or another kind of run
            problems.append(f"{path.name}: {type(error).__name__}")
            continue
        step = int(ckpt.get("global_step", 0))
        log.info("resuming from %s (step %d)", path, step)
        return Resume(checkpoint=path, hparams=hparams, step=step)
    raise TrainingError(
        f"cannot resume from {folder} ({'; '.join(problems)}): "
        "pass resume=false to start over (old checkpoints are kept aside)"
    )


def save_run_config(cfg: DictConfig, run_dir: Path, codebook_size: int) -> None:
    """The resolved config (`.hydra/config.yaml`, as Hydra writes it) and the codebook size."""
    (run_dir / ".hydra").mkdir(exist_ok=True)
    (run_dir / ".hydra" / "config.yaml").write_text(
        OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8"
    )
    (run_dir / "codebook_size.txt").write_text(f"{codebook_size}\n", encoding="utf-8")


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Every configured callback / logger; a group entry set to null is left out."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]


def fit(
    cfg: DictConfig,
    module: Any,
    datamodule: Any,
    run_dir: Path,
    resume: Resume,
    *,
    what: str,
    before_save: Callable[[Any], None] | None = None,  # (trainer): measures on the final weights
):
    """Build the trainer from `cfg` (callbacks: checkpoints, best weights, plateau, ...), fit
    `module`, save a resumable last.ckpt and say how far the run got. Returns the trainer.

    `what` names the model in messages ("codec", "prior"). `before_save` may add what it
    measures to the module's hyperparameters, which last.ckpt then carries.
    """
    loggers = instantiate_all(cfg.get("logger"))
    callbacks = instantiate_all(cfg.get("callbacks"))
    if (
        not loggers
    ):  # `logger=none`: the learning-rate monitor has nowhere to write and would stop the run
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[SafeCheckpointIO()],  # all-or-nothing saves; a full disk is one sentence
    )
    trainer.fit(
        module,
        datamodule=datamodule,
        ckpt_path=str(resume.checkpoint) if resume.checkpoint else None,
        weights_only=True,  # resume never unpickles code, even from a tampered run folder
    )
    if before_save is not None:
        before_save(trainer)
    # resumable: with the optimizer state
    trainer.save_checkpoint(run_dir / LAST_CHECKPOINT, weights_only=False)
    if resume.checkpoint is not None and trainer.global_step == resume.step:
        log.warning(
            "nothing left to train in %s: it already reached trainer.max_steps or used its "
            "trainer.max_time budget (counted across resumes); raise one to continue",
            run_dir,
        )
    elif trainer.global_step < 10:
        log.warning(
            "training stopped after %d steps (trainer.max_time / max_steps): the %s has barely "
            "started to learn; give it more time", trainer.global_step, what,
        )  # fmt: skip
    log.info("%s run saved in %s (%d steps)", what, run_dir, trainer.global_step)
    return trainer
