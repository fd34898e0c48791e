"""Recipes chosen from the hardware (`recipe=auto`), composed from the REAL conf/ tree.

CUDA and MPS are faked by patching PyTorch's availability checks; every override of the user's
(a group, a value, an experiment) must win over the recipe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import factories
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from sda.training import recipes, train_codec, train_prior
from sda.training.recipes import RecipeError, argv_with_recipe, with_recipe

TWENTY_MINUTES = "00:00:20:00"


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine with `kind` in ("cpu", "cuda", "mps")."""

    def pretend(kind: str) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: kind == "cuda")
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: kind == "mps")

    return pretend


def codec_config(tmp_path: Path, *overrides: str):
    return train_codec.compose_config(
        [f"data.dir={tmp_path / 'sounds'}", f"paths.output_dir={tmp_path / 'out'}", *overrides]
    )


def prior_config(tmp_path: Path, *overrides: str):
    return train_prior.compose_config(
        [f"codec={tmp_path / 'codec'}", f"paths.output_dir={tmp_path / 'out'}", *overrides]
    )


def model_file(name: str) -> dict:
    """A model/ option's own values, with its parent's (prior_small extends prior, ...)."""
    raw = OmegaConf.load(train_codec.CONFIG_DIR / "model" / f"{name}.yaml")
    parents = [p for p in raw.pop("defaults", []) if p != "_self_"]
    merged = OmegaConf.merge(*(model_file(p) for p in parents), raw) if parents else raw
    return OmegaConf.to_container(merged)


def same_model(cfg, name: str) -> bool:
    keys = ("encoder_dim", "decoder_dim", "decoder_blocks", "dim", "layers", "context_frames")
    wanted = model_file(name)
    return all(cfg.model[k] == wanted[k] for k in keys if k in wanted)


def test_auto_picks_the_laptop_recipe_on_a_cpu(tmp_path, machine) -> None:
    machine("cpu")
    cfg = codec_config(tmp_path)
    assert cfg.recipe == "cpu" and same_model(cfg, "codec_small")
    assert cfg.trainer.accelerator == "cpu" and cfg.threads == 2
    assert cfg.trainer.max_time == TWENTY_MINUTES
    assert (cfg.data.batch_size, cfg.data.segment_seconds) == (8, 1.0)
    training = cfg.training
    assert (training.learning_rate, training.warmup_steps, training.lr_half_life_steps) == (
        2.0e-3,
        50,
        1000,
    )
    assert training.side_share == 0.5  # a stereo model's mid gets more of the 20 minutes
    prior = prior_config(tmp_path)
    assert prior.recipe == "cpu" and same_model(prior, "prior_small")
    assert prior.trainer.accelerator == "cpu"


def test_auto_picks_cuda_when_pytorch_sees_a_gpu(tmp_path, machine) -> None:
    machine("cuda")
    cfg = codec_config(tmp_path)
    assert cfg.recipe == "cuda" and same_model(cfg, "codec_small")  # the base codec's architecture
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.max_time is None
    assert (cfg.data.batch_size, cfg.data.segment_seconds) == (32, 1.0)
    assert cfg.trainer.max_steps == 200000 and cfg.training.learning_rate == 1.0e-3
    assert cfg.training.side_share == 1.0  # trained by steps: every side, every step
    prior = prior_config(tmp_path)
    assert prior.recipe == "cuda" and same_model(prior, "prior")
    assert prior.trainer.accelerator == "gpu"


def test_auto_picks_mps_on_apple_silicon(tmp_path, machine) -> None:
    machine("mps")
    cfg = codec_config(tmp_path)
    assert cfg.recipe == "mps" and same_model(cfg, "codec_small")
    assert cfg.trainer.accelerator == "mps" and cfg.data.batch_size == 16
    prior = prior_config(tmp_path)
    assert prior.recipe == "mps" and same_model(prior, "prior_small")
    assert prior.trainer.accelerator == "mps"


def test_a_named_recipe_or_trainer_beats_the_hardware(tmp_path, machine) -> None:
    machine("cuda")
    assert codec_config(tmp_path, "recipe=cpu").trainer.max_time == TWENTY_MINUTES
    assert codec_config(tmp_path, "recipe=codec_cpu").recipe == "cpu"
    assert codec_config(tmp_path, "trainer=cpu").recipe == "cpu"  # "train on the CPU"
    assert prior_config(tmp_path, "recipe=mps").recipe == "mps"
    with pytest.raises(RecipeError, match="choose one of auto, cpu, cuda, mps"):
        codec_config(tmp_path, "recipe=tpu")


def test_user_overrides_win_over_the_recipe(tmp_path, machine) -> None:
    machine("cpu")
    cfg = codec_config(
        tmp_path, "model=codec", "data.batch_size=4", "trainer.max_time=00:01:00:00", "threads=1"
    )
    assert cfg.recipe == "cpu" and same_model(cfg, "codec")
    assert cfg.data.batch_size == 4 and cfg.threads == 1
    assert cfg.trainer.max_time == "00:01:00:00"
    assert cfg.training.learning_rate == 2.0e-3  # what was not overridden stays the recipe's
    machine("cuda")
    cfg = codec_config(tmp_path, "trainer=cpu", "recipe=cuda", "training.learning_rate=5e-4")
    assert cfg.trainer.accelerator == "cpu" and cfg.data.batch_size == 32
    assert cfg.training.learning_rate == 5.0e-4
    prior = prior_config(tmp_path, "model=prior")
    assert prior.recipe == "cuda" and same_model(prior, "prior")


def test_experiments_win_over_the_recipe(tmp_path, machine) -> None:
    machine("cuda")
    smoke = codec_config(tmp_path, "experiment=smoke")
    assert same_model(smoke, "codec_tiny") and smoke.trainer.accelerator == "cpu"
    assert smoke.threads == 1 and smoke.trainer.max_steps == 10
    prior_smoke = prior_config(tmp_path, "experiment=prior_smoke")
    assert same_model(prior_smoke, "prior_tiny") and prior_smoke.trainer.accelerator == "cpu"
    # cpu-small is the laptop recipe by name, whatever the machine
    alias = OmegaConf.to_container(codec_config(tmp_path, "experiment=cpu-small"))
    machine("cpu")
    assert alias == OmegaConf.to_container(codec_config(tmp_path))


def test_overrides_are_rewritten_for_hydra(machine) -> None:
    machine("cpu")
    assert with_recipe(["data.dir=x"], app="codec") == ["recipe=codec_cpu", "data.dir=x"]
    assert with_recipe(["recipe=cuda", "a=1"], app="prior") == ["recipe=prior_cuda", "a=1"]
    assert with_recipe(["recipe=cpu,mps"], app="codec") == ["recipe=codec_cpu,codec_mps"]
    # flags stay where they are; with no overrides the recipe goes first, never after --info
    argv = argv_with_recipe(["sda-train", "--info", "defaults"], app="codec")
    assert argv == ["sda-train", "recipe=codec_cpu", "--info", "defaults"]
    argv = argv_with_recipe(["sda-train", "-m", "data.dir=x", "model=codec_tiny"], app="codec")
    assert argv == ["sda-train", "-m", "recipe=codec_cpu", "data.dir=x", "model=codec_tiny"]


def test_the_console_script_composes_with_the_recipe(tmp_path, machine, monkeypatch, capsys):
    machine("cpu")
    args = ["--cfg", "job", f"data.dir={tmp_path}", "model=codec", "data.batch_size=4"]
    monkeypatch.setattr(sys, "argv", ["sda-train", *args])
    train_codec.main()
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["recipe"] == "cpu" and printed["data"]["batch_size"] == 4
    assert printed["model"]["decoder_dim"] == model_file("codec")["decoder_dim"]
    assert printed["trainer"]["max_time"] == TWENTY_MINUTES
    monkeypatch.setattr(sys, "argv", ["sda-train", "recipe=tpu", f"data.dir={tmp_path}"])
    with pytest.raises(SystemExit):
        train_codec.main()
    assert "recipe=tpu is not a recipe" in capsys.readouterr().err


def test_the_run_says_and_saves_its_recipe(tmp_path, machine, capsys) -> None:
    machine("cpu")
    sounds = tmp_path / "sounds"
    factories.write_tiny_audio(sounds)
    cfg = codec_config(
        tmp_path,
        "experiment=smoke",
        f"data.cache_dir={tmp_path / 'cache'}",
        "trainer.max_steps=2",
    )
    run = train_codec.train(cfg)
    assert OmegaConf.load(run / ".hydra" / "config.yaml").recipe == "cpu"
    err = capsys.readouterr().err
    assert err.count("recipe: cpu (laptop CPU") == 1
    assert "override with recipe=cpu|cuda|mps or any key=value" in err


def test_a_prior_run_saves_its_recipe(tmp_path, machine, tiny_models, capsys) -> None:
    machine("cpu")
    codec, _ = tiny_models
    factories.write_tiny_audio(tmp_path / "audio", seconds=1.0)
    codec_run = factories.write_codec_run(tmp_path / "codec", codec, dataset_dir=tmp_path / "audio")
    cfg = train_prior.compose_config(
        [
            f"codec={codec_run}",
            f"paths.output_dir={tmp_path / 'out'}",
            "experiment=prior_smoke",
            f"data.cache_dir={tmp_path / 'cache'}",
            "trainer.max_steps=2",
        ]
    )
    run = train_prior.train(cfg)
    assert OmegaConf.load(run / ".hydra" / "config.yaml").recipe == "cpu"
    assert "recipe: cpu (laptop CPU: prior_small" in capsys.readouterr().err


def test_every_recipe_has_a_note() -> None:
    files = sorted(p.stem for p in (train_codec.CONFIG_DIR / "recipe").glob("*.yaml"))
    assert files == sorted(f"{app}_{name}" for app, name in recipes.NOTES)
