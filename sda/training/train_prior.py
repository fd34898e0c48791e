"""`sda-train-prior`: the Hydra app that trains a prior on a codec's codes.

    sda-train-prior codec=outputs/codec/sounds                      # data: the codec's own folder
    sda-train-prior codec="my kit" data.dir=~/sounds trainer.max_time=00:00:30:00
    sda-train-prior codec=outputs/codec/sounds recipe=cpu model=prior

`codec` is a codec run, a bundle folder or a library name. The run dir is stable,
`${paths.output_dir}/prior/${name}` (name: the codec's folder name), so running the same command
again resumes from `<run>/checkpoints/last.ckpt`; a run trained on another codec is refused.
`recipe=auto` (the default) picks conf/recipe/prior_{cpu,cuda,mps}.yaml for this machine; any
override on the command line wins over it (sda.training.recipes).
`train(cfg)` and `compose_config(overrides)` do the same in-process (tests, `sda demo`).
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# OpenMP threads spin briefly, then sleep (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from sda.models.prior import PriorConfig
from sda.training import console, fit_run, train_codec
from sda.training.errors import TrainingError
from sda.training.fit_run import Resume
from sda.training.prior_data import PriorDataModule
from sda.training.prior_module import PriorModule, PriorTrainingConfig
from sda.training.prior_variants import variants
from sda.training.train_codec import CONFIG_DIR

log = logging.getLogger(__name__)


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The app's config with command-line style `overrides`, without starting a Hydra app."""
    return train_codec.compose_config(overrides, config_name="train_prior")


def _load_codec(source: Any):
    """(bundle, its source path as text) for a codec run, bundle folder or library name."""
    from sda.library import resolve_bundle

    if not source:
        raise TrainingError(
            "no codec given: run `sda-train-prior codec=<codec run, bundle folder or library name>`"
        )
    bundle = resolve_bundle(str(source))
    path = Path(bundle.path).resolve() if bundle.path is not None else Path(str(source))
    return bundle, str(path)


def _data_dir(cfg: DictConfig, codec_path: str, bundle) -> Path:
    """`data.dir`, or else the folder the codec was trained on."""
    given = cfg.data.get("dir")
    if given:
        return Path(str(given)).expanduser()
    report = Path(codec_path) / "dataset_report.json"
    folder = None
    if report.is_file():
        folder = json.loads(report.read_text(encoding="utf-8")).get("folder")
    folder = folder or (bundle.meta.get("dataset") or {}).get("folder")
    if not folder:
        raise TrainingError(
            f"the codec at {codec_path} does not say which folder it was trained on: "
            "pass data.dir=/path/to/your/sounds"
        )
    return Path(str(folder)).expanduser()


def _prior_config(cfg: DictConfig, codec, fingerprint: str) -> PriorConfig:
    """The model config with levels and codebook size read from the codec (as nanoGPT reads vocab).

    A stereo codec's prior reads the mid's and the side's grids stacked: its levels are the
    codec's `grid_levels`."""
    values = OmegaConf.to_container(cfg.model, resolve=True)
    values.pop("_target_", None)
    from_codec = {
        "num_levels": codec.config.grid_levels,
        "codebook_size": codec.config.codebook_size,
    }
    for key, theirs in from_codec.items():
        if values.get(key) not in (None, theirs):
            what = (
                "rows (mid + side levels)"
                if key == "num_levels" and theirs != codec.config.num_levels
                else key
            )
            raise TrainingError(
                f"model.{key}={values[key]} does not match the codec's {what}={theirs}: a prior "
                "must use its codec's codebook; remove the override"
            )
        values[key] = theirs
    values["codec_fingerprint"] = fingerprint
    return PriorConfig.from_dict(values)


def _check_resume(saved: dict[str, Any], config: PriorConfig, run_dir: Path) -> None:
    old = dict(saved.get("prior") or {})
    if old.get("codec_fingerprint") != config.codec_fingerprint:
        raise TrainingError(
            f"{run_dir} holds a prior trained on codec {old.get('codec_fingerprint')}, not on this "
            f"codec ({config.codec_fingerprint}); its codebook means different sounds. Pass "
            "name=<new name> for a separate run, or resume=false to start over there"
        )
    if old != asdict(config):
        changed = sorted(k for k, v in asdict(config).items() if old.get(k) != v)
        raise TrainingError(
            f"{run_dir} holds a prior with other settings ({', '.join(changed)}): pass "
            "name=<new name> for a separate run, or resume=false to start over there"
        )


def _check_data_dir(cfg: DictConfig, data_dir: Path) -> None:
    """A missing folder is an error, unless the demo set may be synthesized into it."""
    synthesize = cfg.data.get("synthesize_if_missing", False)
    if not data_dir.is_dir() and not synthesize:
        raise TrainingError(
            f"data.dir {data_dir} does not exist or is not a folder: check the path"
        )
    if synthesize and not (data_dir.is_dir() and any(data_dir.iterdir())):
        from sda.dataset.demo import synthesize_demo_set

        synthesize_demo_set(data_dir)


def _saved_stats(resume: Resume, config: PriorConfig, run_dir: Path):
    """A resumed run's descriptor statistics (its controls keep their meaning), or None."""
    if resume.checkpoint is None:
        return None
    _check_resume(resume.hparams, config, run_dir)
    from sda.audio.descriptors import DescriptorStats

    return DescriptorStats.from_dict(resume.hparams["descriptor_stats"])


def _build_datamodule(
    cfg: DictConfig, codec, data_dir: Path, config: PriorConfig, stats
) -> PriorDataModule:
    return PriorDataModule(
        codec=codec,
        dir=data_dir,
        context_frames=config.context_frames,
        pad=config.pad_token,
        sample_rate=codec.config.sample_rate,
        batch_size=int(cfg.data.batch_size),
        val_fraction=float(cfg.data.val_fraction),
        shifts=int(cfg.prior_data.shifts),
        steps_per_epoch=int(cfg.data.steps_per_epoch),
        num_workers=int(cfg.prior_data.num_workers),
        pack_short=bool(cfg.prior_data.get("pack_short", True)),
        longest_gap_seconds=float(cfg.prior_data.get("longest_gap_seconds", 0.0)),
        lookahead_seconds=float(cfg.prior_data.get("lookahead_seconds", 1.0)),
        variants=variants(
            list(cfg.prior_data.get("speeds") or []), list(cfg.prior_data.get("gains_db") or [])
        ),
        seed=int(cfg.seed),
        cache_dir=cfg.data.get("cache_dir"),
        stats=stats,
    )


def _say_fidelity(fidelity: dict[str, float]) -> None:
    """Which controls this codec keeps on the material, and a warning for each it keeps poorly."""
    from sda.audio.control_fidelity import weak_among, weak_note

    if not fidelity:
        return
    shown = ", ".join(f"{name} {rho:.2f}" for name, rho in fidelity.items())
    log.info("controls the codec keeps (material vs its decoded copy, rank correlation): %s", shown)
    for name, rho in weak_among(fidelity).items():
        log.warning(weak_note(name, rho))


def _record_settings(
    cfg: DictConfig, codec_source: str, data_dir: Path, config: PriorConfig, channels: int
) -> None:
    """Write what the run really uses back into `cfg` (saved as .hydra/config.yaml); the data's
    channels are the codec's (a stereo codec's prior reads its files as stereo)."""
    with open_dict(cfg):
        cfg.codec = codec_source
        cfg.data.dir = str(data_dir)
        cfg.data.channels = int(channels)
        cfg.model = OmegaConf.create({"_target_": "sda.models.prior.PriorConfig", **asdict(config)})


def train(cfg: DictConfig) -> Path:
    """Train (or resume) the prior described by `cfg`; returns the run dir."""
    cfg = fit_run.checked_config(cfg, "prior")  # before the codec or data is read
    fit_run.check_devices(cfg.trainer)  # TrainingError: no such GPU, backend, core count
    bundle, codec_source = _load_codec(cfg.get("codec"))
    codec = bundle.codec
    data_dir = _data_dir(cfg, codec_source, bundle)
    _check_data_dir(cfg, data_dir)
    run_dir = fit_run.open_run_dir(cfg)

    prior_config = _prior_config(cfg, codec, bundle.id)
    resume = fit_run.find_resume(cfg, run_dir, kind="prior")
    stats = _saved_stats(resume, prior_config, run_dir)
    datamodule = _build_datamodule(cfg, codec, data_dir, prior_config, stats)
    report = datamodule.scan()
    (run_dir / "dataset_report.json").write_text(report.to_json(), encoding="utf-8")
    datamodule.setup("fit")  # encodes once (cached) and fits the descriptor stats
    _say_fidelity(datamodule.fidelity)
    _record_settings(cfg, codec_source, data_dir, prior_config, codec.config.channels)
    fit_run.save_run_config(cfg, run_dir, prior_config.codebook_size)

    training: PriorTrainingConfig = instantiate(cfg.training)
    module = PriorModule(
        asdict(prior_config),
        codec_source,
        bundle.id,
        datamodule.stats_record(),  # control ranges + the material's level
        training=training,
    )
    module.set_codec(codec)
    fit_run.fit(
        cfg, module, datamodule, run_dir, resume, what="prior",
        before_save=lambda trainer: _measure_tension_sampling(cfg, trainer, module, codec, resume),
    )  # fmt: skip
    return run_dir


def _measure_tension_sampling(
    cfg: DictConfig, trainer, module: PriorModule, codec, resume: Resume
) -> None:
    """How `sda generate` should ask this prior for tension, measured on its final weights and
    kept in its descriptor stats (last.ckpt carries them; `sda.training.tension_sampling`)."""
    from sda.generate.sampling_defaults import TENSION_SAMPLING_KEY
    from sda.training.tension_sampling import measure_tension_sampling

    seeds = int(cfg.tension_check.seeds)
    if seeds <= 0 or trainer.interrupted or not trainer.is_global_zero:  # off; stopped; a worker
        return
    stats = module.hparams["descriptor_stats"]
    earlier = (resume.hparams.get("descriptor_stats") or {}).get(TENSION_SAMPLING_KEY)
    if earlier and trainer.global_step == resume.step:  # resumed with nothing left to train
        stats[TENSION_SAMPLING_KEY] = earlier
        return
    stats[TENSION_SAMPLING_KEY] = measure_tension_sampling(
        codec, module.prior, stats, seconds=float(cfg.tension_check.seconds), seeds=seeds
    )


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train_prior")
def _hydra_main(cfg: DictConfig) -> None:
    with open_dict(cfg):  # the job's own dir: differs from the formula under -m (sweeps)
        cfg.paths.run_dir = HydraConfig.get().runtime.output_dir
    console.run_job(train, cfg)  # user errors: one line, exit code 1


def main() -> None:
    """Console script `sda-train-prior`."""
    console.run_app(_hydra_main, app="prior")


if __name__ == "__main__":
    main()
