"""`sda-train`: the Hydra app that trains a codec on a folder of recordings.

    sda-train data.dir=~/sounds                       # outputs/codec/sounds/ (resumes if re-run)
    sda-train data.dir=~/sounds recipe=cpu trainer.max_time=00:01:00:00
    sda-train -m data.dir=~/sounds model=codec_tiny,codec_small hydra/launcher=joblib

The run dir is stable, `${paths.output_dir}/codec/${name}` with `name` defaulting to the data
folder's name, so running the same command again resumes from `<run>/checkpoints/last.ckpt`
(after a crash or `kill -9` too) and continues the step count. `name=...` starts a separate run;
`resume=false` starts over in the same dir (old checkpoints are moved aside, never deleted).
`recipe=auto` (the default) picks conf/recipe/codec_{cpu,cuda,mps}.yaml for this machine; any
override on the command line wins over it (sda.training.recipes). `model.channels=auto` (the
default) trains a stereo model when most of the usable audio is stereo; the resolved 1 or 2 is
written into the saved config and the checkpoints.
`train(cfg)` and `compose_config(overrides)` do the same in-process (tests, `sda demo`).
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# OpenMP threads spin briefly, then sleep: before torch starts them
os.environ.update(thread_waits(os.environ, sys.platform))

import copy
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import MissingMandatoryValue

from sda.models.base_codec import BaseCodecError, load_base_codec, start_from_base
from sda.models.codec import Codec, CodecConfig
from sda.training import console, devices, fit_run, recipes
from sda.training.codebook_size import pick_codebook_size
from sda.training.codec_module import CodecModule, CodecTrainingConfig
from sda.training.errors import TrainingError
from sda.training.fit_run import Resume

log = logging.getLogger(__name__)

# conf/ sits at the repository root (editable install): sda/training/ -> ../../conf, made absolute
# because Hydra reads a relative config_path as a package when run from a console script
CONFIG_PATH = "../../conf"
CONFIG_DIR = (Path(__file__).resolve().parent / CONFIG_PATH).resolve()


def run_name_from_dir(data_dir: Any) -> str:
    """A folder-safe run name from a data dir: "~/My Sounds/" -> "My_Sounds"."""
    name = Path(str(data_dir or "")).expanduser().name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return name or "run"


OmegaConf.register_new_resolver("sda_run_name", run_name_from_dir, replace=True)


def compose_config(
    overrides: list[str] | tuple[str, ...] = (), *, config_name: str = "train_codec"
) -> DictConfig:
    """The app's config with command-line style `overrides`, without starting a Hydra app.

    `recipe=auto` (or none) becomes this machine's recipe, as on the command line.
    """
    overrides = recipes.with_recipe(overrides, app=config_name.removeprefix("train_"))
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)


# --- prepare ---------------------------------------------------------------------------------------
def _check_data_dir(cfg: DictConfig) -> Path:
    try:
        data_dir = cfg.data.dir
    except MissingMandatoryValue:
        data_dir = None
    if not data_dir:
        raise TrainingError("no data folder given: run `sda-train data.dir=/path/to/your/sounds`")
    path = Path(str(data_dir)).expanduser()
    if not path.is_dir() and not cfg.data.get("synthesize_if_missing", False):
        raise TrainingError(f"data.dir {path} does not exist or is not a folder: check the path")
    return path


def datamodule_config(cfg: DictConfig) -> DictConfig:
    """`cfg.data` without sda-only keys (`synthesize_if_missing`), ready for `instantiate`."""
    data_cfg = copy.deepcopy(cfg.data)
    with open_dict(data_cfg):
        data_cfg.pop("synthesize_if_missing", None)
    return data_cfg


def _build_datamodule(cfg: DictConfig, data_dir: Path):
    if cfg.data.get("synthesize_if_missing", False) and not (
        data_dir.is_dir() and any(data_dir.iterdir())
    ):
        from sda.dataset.demo import synthesize_demo_set

        log.info("synthesizing the demo sounds into %s", data_dir)
        synthesize_demo_set(data_dir)
    return instantiate(datamodule_config(cfg))


def _scan(datamodule, run_dir: Path):
    """The dataset report, saved in the run: DatasetError (an SdaError) when nothing is usable."""
    report = datamodule.scan()
    (run_dir / "dataset_report.json").write_text(report.to_json(), encoding="utf-8")
    log.info("dataset: %s", report.summary())
    return report


def _keep_resumed_channels(cfg: DictConfig, resume: Resume) -> None:
    """A resumed run keeps its layout under model.channels=auto, whatever the folder holds now
    (runs from before stereo models were mono)."""
    saved = resume.hparams.get("codec")
    if saved and str(cfg.model.get("channels", "auto")) == "auto":
        with open_dict(cfg):
            cfg.model.channels = int(saved.get("channels", 1))


def _fix_channels(cfg: DictConfig, report) -> None:
    """Write the layout the scan resolved (model.channels=auto -> 1 or 2) into `cfg`, and say it."""
    with open_dict(cfg):
        cfg.model.channels = int(report.channels)
        if "channels" in cfg.data:
            cfg.data.channels = int(report.channels)
    recipes.tell(f"channels: {report.channel_choice}")


@dataclass(frozen=True)
class _StartingPoint:
    """What a new run's weights start from: a codec to grow, the base codec, or neither."""

    grow: Codec | None = None
    base: Codec | None = None
    lineage: dict[str, Any] | None = None


def _starting_point(cfg: DictConfig, resume: Resume) -> _StartingPoint:
    """init_from, unless the run resumes (then its checkpoint holds the weights)."""
    source = _init_source(cfg.get("init_from"))
    if resume.checkpoint is not None:  # the weights are the checkpoint's; keep its lineage
        return _StartingPoint(lineage=resume.hparams.get("init_from"))
    if not source:
        return _StartingPoint()
    if source == "base":
        base, lineage = _load_base(cfg.get("base_codec"))
        return _StartingPoint(base=base, lineage=lineage)
    grow, lineage = _load_init_from(source)
    return _StartingPoint(grow=grow, lineage=lineage)


def _load_init_from(source: str) -> tuple[Codec, dict[str, Any]]:
    """Codec weights to start from (a library name, bundle or codec run dir) plus lineage."""
    from sda.library import resolve_bundle

    bundle = resolve_bundle(source)  # BundleError / UnknownBundleError (SdaError) when unusable
    return bundle.codec, {"source": str(bundle.path.resolve()), "fingerprint": bundle.id}


def _init_source(value: Any) -> str | None:
    """init_from as "base", a bundle/run to grow, or None (from scratch)."""
    text = str(value).strip() if value is not None else ""
    return None if text.lower() in ("", "none", "null", "scratch") else text


def _load_base(file: Any = None) -> tuple[Codec | None, dict[str, Any] | None]:
    """The base codec (the shipped one, or `file`) and its lineage record. The shipped one
    missing or damaged: (None, None) with a warning, and training starts from scratch, as
    init_from=none; a `file` asked for by name must load (BaseCodecError says why not)."""
    text = str(file).strip() if file is not None else ""
    named = Path(text).expanduser().resolve() if text else None
    try:
        base, metadata = load_base_codec(named)
    except BaseCodecError as error:
        if named:
            raise
        log.warning("%s; training from scratch instead", error)
        return None, None
    lineage = {"source": "base", "fingerprint": base.fingerprint(), "steps": metadata.get("steps")}
    if named:
        lineage["file"] = str(named)
    return base, lineage


def _choose_codebook_size(cfg, report, frame_rate, saved, init_codec) -> int:
    if saved:
        return int(saved["codebook_size"])
    if init_codec is not None:
        return init_codec.config.codebook_size
    requested = cfg.quantizer.codebook_size
    if str(requested) == "auto":
        size = pick_codebook_size(report.num_frames(frame_rate))
        log.info(
            "quantizer=auto: %d codes per level for %d frames", size, report.num_frames(frame_rate)
        )
        return size
    return int(requested)


# model settings whose default changed since runs began: the direction row (2026-12-04), and the
# fine-time envelopes and short synthesis window the base codec gained (2026-12-06); the head's
# phase source, which a run keeps as it began (2026-12-08: opt-in, so that a default change
# later cannot swap it under a resumed run)
RESUMED_AS_SAVED = ("side_direction", "fine_time_bands", "head_upsample", "head_phase")


def _codec_config(
    cfg: DictConfig, run_dir: Path, report, resume: Resume, start: _StartingPoint
) -> CodecConfig:
    """The model's settings, with the codebook size fixed (written back into `cfg`); a resumed
    run must keep its own."""
    saved = resume.hparams.get("codec", {})
    # settings added since the run was saved read as what it implicitly had (e.g. mono)
    saved = asdict(CodecConfig.from_dict(saved)) if saved else {}
    frame_rate = instantiate(cfg.model, codebook_size=2).frame_rate  # before the size is known
    codebook_size = _choose_codebook_size(cfg, report, frame_rate, saved, start.grow)
    with open_dict(cfg):
        cfg.quantizer.codebook_size = codebook_size
        if saved:  # a run from before a default changed resumes as it began
            for key in RESUMED_AS_SAVED:
                if cfg.model.get(key) != saved[key]:
                    log.info("model.%s=%s: as the run began", key, saved[key])
                cfg.model[key] = saved[key]
        if start.grow is not None:
            # growing a model keeps its architecture, codebook size and what its codes mean:
            # no dead-code re-seeding, no k-means refresh (the codebooks only drift by EMA)
            # the layout is not a shape: a mono model grows into a stereo one on stereo data
            grown = {
                **asdict(start.grow.config),
                "channels": int(cfg.model.channels),
                "side_direction": bool(cfg.model.get("side_direction", True)),
            }
            cfg.model = OmegaConf.create({"_target_": "sda.models.codec.CodecConfig", **grown})
            cfg.training.dead_code_fraction = 0.0
            cfg.training.codebook_refresh_step = None
    codec_config: CodecConfig = instantiate(cfg.model)
    if saved and asdict(codec_config) != saved:
        changed = sorted(k for k, v in asdict(codec_config).items() if saved.get(k) != v)
        raise TrainingError(
            f"{run_dir} holds a codec with other settings ({', '.join(changed)}): "
            "pass name=<new name> for a separate run, or resume=false to start over there"
        )
    return codec_config


def _dataset_summary(report, frame_rate: float, codebook_size: int) -> dict[str, Any]:
    return {
        "folder": str(report.folder),
        "usable_files": len(report.usable),
        "skipped_files": len(report.skipped),
        "usable_seconds": round(float(report.usable_seconds), 3),
        "frames": int(report.num_frames(frame_rate)),
        "codebook_size": int(codebook_size),
        "channels": int(report.channels),
    }


# From the base, the encoder fine-tunes too when a set holds at least this much audio, and the
# decoder alone learns under it: trained too, the encoder lost 0.05-0.07 held-out mel on 5 drum
# one-shots (3 s) and gained 0.01-0.02 on sets of 32 s to 20 minutes. 10 s is a guess between the
# two, near their geometric middle (experiments/RESULTS.md, "## Codec", 2026-12-07).
ENCODER_FROM_SECONDS = 10.0


def _freeze_encoder(start: _StartingPoint, setting: bool | None, seconds: float) -> bool:
    """freeze_encoder=null: the decoder alone fine-tunes when the weights came from the base and
    the set is under ENCODER_FROM_SECONDS; both halves otherwise. Follows the run's lineage, so
    a resumed run decides as it did at its start (on the same folder)."""
    if setting is not None:
        return bool(setting)
    if (start.lineage or {}).get("source") != "base":
        return False
    if seconds < ENCODER_FROM_SECONDS:
        log.info(
            "fine-tuning the decoder alone: %.1f s of audio, under the %g s from which the base's "
            "encoder trains too (training.freeze_encoder=false trains both)",
            seconds, ENCODER_FROM_SECONDS,
        )  # fmt: skip
        return True
    log.info(
        "fine-tuning the encoder and decoder (training.freeze_encoder=true: the decoder alone)"
    )
    return False


# --- build -----------------------------------------------------------------------------------------
def _build_module(
    cfg: DictConfig, codec_config: CodecConfig, report, start: _StartingPoint
) -> CodecModule:
    """The LightningModule, its weights from the starting point (or fresh)."""
    training: CodecTrainingConfig = instantiate(cfg.training)
    training.freeze_encoder = _freeze_encoder(
        start, training.freeze_encoder, float(report.usable_seconds)
    )
    module = CodecModule(
        codec_config,
        training=training,
        dataset_summary=_dataset_summary(
            report, codec_config.frame_rate, int(cfg.quantizer.codebook_size)
        ),
        init_from=start.lineage,
        sync_codebook=devices.is_distributed(**fit_run.device_settings(cfg.trainer)),
    )
    if start.grow is not None:
        module.codec.load_state_dict(start.grow.state_dict())
    if start.base is not None:
        start_from_base(module.codec, start.base)  # BaseCodecError when the settings differ
        log.info("starting from the base codec (init_from=base; init_from=none: from scratch)")
    return module


# --- the entry points ------------------------------------------------------------------------------
def train(cfg: DictConfig) -> Path:
    """Train (or resume) the codec described by `cfg`; returns the run dir."""
    cfg = fit_run.checked_config(cfg, "codec")  # TrainingError naming the key: before any scan
    data_dir = _check_data_dir(cfg)
    fit_run.check_devices(cfg.trainer)
    run_dir = fit_run.open_run_dir(cfg, fast_matmul=True)

    resume = fit_run.find_resume(cfg, run_dir, kind="codec")
    _keep_resumed_channels(cfg, resume)
    datamodule = _build_datamodule(cfg, data_dir)
    report = _scan(datamodule, run_dir)
    _fix_channels(cfg, report)
    start = _starting_point(cfg, resume)
    codec_config = _codec_config(cfg, run_dir, report, resume, start)
    fit_run.save_run_config(cfg, run_dir, int(cfg.quantizer.codebook_size))

    module = _build_module(cfg, codec_config, report, start)
    fit_run.fit(cfg, module, datamodule, run_dir, resume, what="codec")
    return run_dir


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train_codec")
def _hydra_main(cfg: DictConfig) -> None:
    with open_dict(cfg):  # the job's own dir: differs from the formula under -m (sweeps)
        cfg.paths.run_dir = HydraConfig.get().runtime.output_dir
    console.run_job(train, cfg)  # user errors: one line, exit code 1


def main() -> None:
    """Console script `sda-train`."""
    console.run_app(_hydra_main, app="codec")


if __name__ == "__main__":
    main()
