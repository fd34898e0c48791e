"""Every shipped recipe composes from the REAL conf/ tree and instantiates (shrunk for tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from sda.models.codec import CodecConfig
from sda.training.codec_module import CodecTrainingConfig
from sda.training.train_codec import (
    CONFIG_DIR,
    compose_config,
    datamodule_config,
    run_name_from_dir,
)

# prior_* recipes belong to train_prior.yaml (the prior worker tests those)
EXPERIMENTS = sorted(
    p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml") if not p.stem.startswith("prior")
)
CODEC_MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("codec*.yaml"))
QUANTIZERS = sorted(p.stem for p in (CONFIG_DIR / "quantizer").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONFIG_DIR / "trainer").glob("*.yaml"))
DEBUGS = sorted(p.stem for p in (CONFIG_DIR / "debug").glob("*.yaml"))


def shrunk(tmp_path: Path, *overrides: str):
    """The real config, pointed at tmp_path and small enough to build instantly."""
    return compose_config(
        [
            f"data.dir={tmp_path / 'sounds'}",
            f"paths.output_dir={tmp_path / 'outputs'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            *overrides,
        ]
    )


def test_the_recipes_exist() -> None:
    assert {"smoke", "cpu-small", "gpu-base"} <= set(EXPERIMENTS)
    assert {"codec", "codec_tiny", "codec_small", "codec_base", "codec_94fps"} <= set(CODEC_MODELS)
    assert {"auto", "k64", "k1024"} <= set(QUANTIZERS)
    assert {"cpu", "gpu", "mps", "ddp"} <= set(TRAINERS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(tmp_path: Path, experiment: str) -> None:
    cfg = shrunk(
        tmp_path,
        f"experiment={experiment}",
        "quantizer.codebook_size=64",  # what sda-train sets after scanning
        "model.channels=1",  # likewise (auto: stereo when most of the audio is)
        "trainer.accelerator=cpu",
        "trainer.devices=1",
        "trainer.strategy=auto",
        "logger=none",
    )
    model = instantiate(cfg.model)
    assert isinstance(model, CodecConfig) and model.codebook_size == 64
    assert isinstance(instantiate(cfg.training), CodecTrainingConfig)
    datamodule = instantiate(datamodule_config(cfg))
    assert datamodule.dir == tmp_path / "sounds" or experiment == "demo"
    callbacks = [instantiate(node) for node in cfg.callbacks.values() if node]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False)
    assert trainer.max_steps > 0
    assert Path(cfg.paths.run_dir).parent == tmp_path / "outputs" / "codec"
    OmegaConf.to_yaml(cfg, resolve=True)  # every interpolation resolves


@pytest.mark.parametrize("model", CODEC_MODELS)
def test_every_codec_model_composes(tmp_path: Path, model: str) -> None:
    config = instantiate(shrunk(tmp_path, f"model={model}", "quantizer=k256").model, channels=2)
    assert config.codebook_size == 256 and config.num_levels == 8
    expected = 93.75 if model == "codec_94fps" else None
    if expected:
        assert config.frame_rate == pytest.approx(expected)


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_quantizer_choices(tmp_path: Path, quantizer: str) -> None:
    cfg = shrunk(tmp_path, f"quantizer={quantizer}")
    size = cfg.quantizer.codebook_size
    assert size == "auto" if quantizer == "auto" else size == int(quantizer[1:])
    assert cfg.quantizer.ema_decay == 0.99


@pytest.mark.parametrize("trainer", TRAINERS)
def test_trainer_choices_compose(tmp_path: Path, trainer: str) -> None:
    cfg = shrunk(tmp_path, f"trainer={trainer}")
    if trainer == "ddp":  # GPUs or CPU processes: the hardware decides unless told
        assert cfg.trainer.strategy.startswith("ddp") and cfg.trainer.accelerator == "auto"
        assert cfg.trainer.devices == "auto" and cfg.trainer.num_nodes == 1
    else:
        assert cfg.trainer.accelerator in {"cpu", "gpu", "mps"}


def _settings(node: dict, prefix: str = "") -> dict[str, object]:
    """Nested YAML mapping -> {"trainer.max_steps": 300, ...} (leaves only)."""
    flat: dict[str, object] = {}
    for key, value in node.items():
        if isinstance(value, dict) and value:
            flat.update(_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize("debug", DEBUGS)
def test_debug_choices_compose(tmp_path: Path, debug: str) -> None:
    """Each debug file's settings win over the recipe's, and reach the Trainer it builds."""
    settings = _settings(OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "debug" / f"{debug}.yaml")))  # fmt: skip
    assert settings, f"debug/{debug}.yaml sets nothing"
    plain = shrunk(tmp_path)
    cfg = shrunk(tmp_path, f"debug={debug}")
    OmegaConf.to_yaml(cfg, resolve=True)  # every interpolation resolves
    for key, value in settings.items():
        assert OmegaConf.select(cfg, key) == value, key
    changed = [key for key in settings if OmegaConf.select(plain, key) != settings[key]]
    assert changed, f"debug={debug} changes nothing the recipe does not already set"
    trainer = instantiate(cfg.trainer, logger=False, enable_progress_bar=False)
    for key, value in settings.items():
        name = key.removeprefix("trainer.")
        if name == key or value is None:
            continue
        built = getattr(trainer, name)
        if name == "profiler":
            assert type(built).__name__.lower().startswith(value), key
        elif name == "fast_dev_run":
            assert trainer.fast_dev_run and trainer.max_steps == 1, key
        else:
            assert built == value, key


def test_run_dir_is_stable_and_named_after_the_data(tmp_path: Path) -> None:
    cfg = compose_config([f"data.dir={tmp_path}/My Drum Kit", f"paths.output_dir={tmp_path}"])
    assert cfg.name == "My_Drum_Kit"
    assert cfg.paths.run_dir == f"{tmp_path}/codec/My_Drum_Kit"
    assert run_name_from_dir("~/sounds/") == "sounds"
    assert run_name_from_dir(None) == "run"


def test_hydra_settings_put_runs_under_outputs(tmp_path: Path) -> None:
    cfg = compose_config([f"data.dir={tmp_path}/kit"])
    raw = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "hydra" / "default.yaml"))
    assert raw["run"]["dir"] == "${paths.run_dir}"
    assert cfg.paths.run_dir.startswith("outputs/")


def test_unknown_key_is_refused_by_hydra(tmp_path: Path) -> None:
    with pytest.raises(ConfigCompositionException, match="no_such_key"):
        shrunk(tmp_path, "no_such_key=1")
