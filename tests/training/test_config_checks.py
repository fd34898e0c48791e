"""Config values checked before any scan or model build: a TrainingError naming the key, the value
and what is allowed; Hydra's own errors on the console in one line."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.errors import HydraException
from omegaconf import OmegaConf

from sda.training import train_codec, train_prior
from sda.training.config_checks import check_config
from sda.training.console import one_line
from sda.training.errors import TrainingError

EXPERIMENTS = sorted(p.stem for p in (train_codec.CONFIG_DIR / "experiment").glob("*.yaml"))


def codec_config(*overrides: str):
    return train_codec.compose_config(["data.dir=/no/such/folder", *overrides])


def prior_config(*overrides: str):
    return train_prior.compose_config(["codec=/no/such/run", *overrides])


@pytest.fixture(scope="module")
def configs() -> dict:
    """The default codec and prior configs, composed once (composing costs ~0.3 s each)."""
    return {"codec": codec_config(), "prior": prior_config()}


def with_value(configs: dict, app: str, key: str, value):
    cfg = copy.deepcopy(configs[app])
    OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def test_every_shipped_config_passes() -> None:
    for experiment in EXPERIMENTS:
        app = "prior" if experiment.startswith("prior") else "codec"
        compose = prior_config if app == "prior" else codec_config
        check_config(compose(f"experiment={experiment}"), app)
    for recipe in ("cuda", "mps"):  # cpu: the default everywhere above
        check_config(codec_config(f"recipe={recipe}"), "codec")
        check_config(prior_config(f"recipe={recipe}"), "prior")


# (key, value as Hydra reads it from the command line, words of the allowed range)
CODEC_BAD = [
    ("quantizer.codebook_size", "abc", '"auto" or a whole number from 2 to 65536'),
    ("quantizer.codebook_size", 1, "from 2 to 65536"),
    ("quantizer.codebook_size", 100000, "from 2 to 65536"),
    ("data.batch_size", 0, "from 1 to 4096"),
    ("data.batch_size", 1.5, "whole number"),
    ("data.batch_size", True, "whole number"),
    ("data.segment_seconds", 0, "from 0.05 to 60"),
    ("data.segment_seconds", -1.0, "from 0.05 to 60"),
    ("data.segment_seconds", 600, "from 0.05 to 60"),
    ("data.val_fraction", 0.9, "from 0 to 0.5"),
    ("data.val_fraction", float("nan"), "from 0 to 0.5"),
    ("quantizer.num_levels", 0, "from 1 to 32"),
    ("quantizer.num_levels", 64, "from 1 to 32"),
    ("trainer.max_steps", 0, "or -1 (no step limit)"),
    ("trainer.max_steps", "many", "or -1"),
    ("trainer.max_time", "1h", '"DD:HH:MM:SS"'),
    ("trainer.max_time", "00:00:00:00", "above zero"),
    ("training.learning_rate", 0, "above 0 and at most 1"),
    ("training.learning_rate", -0.001, "above 0"),
    ("training.betas", [0.9], "a list of 2 numbers"),
    ("threads", 0, "or null (PyTorch's default)"),
    ("seed", -1, "from 0 to"),
    ("model.sample_rate", 0, "from 8000 to 192000"),
    ("model.latent_dim", "big", "whole number"),
    ("model.channels", 3, '"auto" or a whole number from 1 to 2 (1 mono, 2 stereo)'),
    ("model.channels", "stereo", '"auto" or a whole number'),
    ("model.side_gain", 0.5, "from 1 to 16"),
    ("model.side_levels", -1, "0: every level"),
    ("training.image_weight", -1.0, "from 0 to 1000"),
    ("training.weight_average_decay", 1.0, "from 0 to 0.99999"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), CODEC_BAD)
def test_a_bad_codec_value_names_key_value_and_range(configs, key, value, allowed) -> None:
    with pytest.raises(TrainingError) as caught:
        check_config(with_value(configs, "codec", key, value), "codec")
    message = str(caught.value)
    assert message.startswith(f"{key}=") and f"{key} must be" in message and allowed in message


PRIOR_BAD = [
    ("data.batch_size", 0, "from 1 to 4096"),
    ("prior_data.speeds", [3.0], "each from 0.5 to 2"),
    ("prior_data.speeds", 1.0, "a list of numbers"),
    ("prior_data.gains_db", [0, 40], "each from -40 to 12"),
    ("prior_data.shifts", 0, "from 1 to 16"),
    ("model.dim", 0, "whole number"),
    ("model.codebook_size", 1, "or null (the codec's)"),
    ("training.example_controls", [2], "each from 0 to 1"),
    ("tension_check.seconds", 0, "above 0"),
    ("tension_check.seeds", -1, "from 0 to 64"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), PRIOR_BAD)
def test_a_bad_prior_value_names_key_and_range(configs, key, value, allowed) -> None:
    with pytest.raises(TrainingError, match=f"^{key}=") as caught:
        check_config(with_value(configs, "prior", key, value), "prior")
    assert allowed in str(caught.value)


def test_good_values_pass(configs) -> None:
    for key, value in (
        ("trainer.max_steps", -1),
        ("threads", None),
        ("quantizer.codebook_size", 512),
        ("trainer.max_time", "00:10:00:00"),
        ("data.num_workers", None),
        ("data.augment", False),
        ("training.learning_rate", 3e-4),
        ("model.channels", 2),
        ("model.channels", 1),
        ("model.side_levels", 0),
    ):
        check_config(with_value(configs, "codec", key, value), "codec")


def test_train_checks_before_looking_at_the_data(configs, tmp_path: Path) -> None:
    """The data folder does not exist: the bad value is what the user hears about first."""
    cfg = with_value(configs, "codec", "data.batch_size", 0)
    cfg.paths.output_dir = str(tmp_path)
    with pytest.raises(TrainingError, match="^data.batch_size=0"):
        train_codec.train(cfg)
    assert not (tmp_path / "codec").exists()  # no run dir made either
    cfg = with_value(configs, "prior", "prior_data.shifts", 0)
    cfg.paths.output_dir = str(tmp_path)
    with pytest.raises(TrainingError, match="^prior_data.shifts=0"):
        train_prior.train(cfg)  # before the (missing) codec is looked up


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("no_such_key=1", "Could not override 'no_such_key'. To append"),
        ("data.batch_size=[", "cannot read the override 'data.batch_size=['"),
        ("model=nope", "Could not find 'model/nope'; available: codec, "),
    ],
)
def test_hydra_errors_read_as_one_line(override: str, expected: str) -> None:
    with pytest.raises(HydraException) as caught:
        codec_config(override)
    text = one_line(caught.value)
    assert "\n" not in text and expected in text


def test_a_bad_override_is_one_line_from_the_console_script(monkeypatch, capsys) -> None:
    """Hydra's composition errors, through `sda-train`'s real entry point (in-process: it fails
    before any job starts)."""
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    for override in ("data.batch_size=[", "no_such_key=1"):
        monkeypatch.setattr(sys, "argv", ["sda-train", "data.dir=/tmp", override])
        with pytest.raises(SystemExit) as stop:
            train_codec.main()
        err = capsys.readouterr().err
        assert stop.value.code == 1 and err.count("\n") == 1 and err.startswith("error: "), err
        assert override.split("=")[0] in err and "HYDRA_FULL_ERROR" not in err
    assert "HYDRA_FULL_ERROR" not in os.environ  # set only while the app runs


def test_the_console_script_prints_one_line(tmp_path: Path) -> None:
    """`sda-train quantizer.codebook_size=abc` as a user types it (before: a ValueError traceback)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    (tmp_path / "sounds").mkdir()
    command = [sys.executable, "-m", "sda.training.train_codec", f"data.dir={tmp_path / 'sounds'}"]
    done = subprocess.run(
        [*command, "quantizer.codebook_size=abc"],
        cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        'error: quantizer.codebook_size="abc" is not allowed: quantizer.codebook_size must be '
        '"auto" or a whole number from 2 to 65536'
    ]


@pytest.mark.parametrize("app", [train_codec, train_prior])
def test_a_run_folder_that_is_a_file_is_one_line(app, tmp_path, monkeypatch, capsys) -> None:
    """`paths.output_dir=` a file (before: Hydra's NotADirectoryError traceback)."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    monkeypatch.chdir(tmp_path)
    cases = [
        ([f"paths.output_dir={blocker}"], f"paths.output_dir={blocker}: {blocker} is a file"),
        ([f"hydra.run.dir={blocker}/run"], f"hydra.run.dir={blocker}/run: {blocker} is a file"),
        ([], "paths.output_dir (default outputs): outputs is a file"),
    ]
    (tmp_path / "outputs").write_text("")
    for overrides, expected in cases:
        monkeypatch.setattr(sys, "argv", ["sda-train", "data.dir=/tmp", *overrides])
        with pytest.raises(SystemExit) as stop:
            app.main()
        err = capsys.readouterr().err
        assert stop.value.code == 1 and err.count("\n") == 1, err
        assert err.startswith(f"error: {expected}, not a folder; give a folder"), err


def test_a_composed_run_folder_under_a_file_is_a_training_error(tmp_path) -> None:
    from sda.training.fit_run import open_run_dir

    (tmp_path / "file").write_text("")
    cfg = OmegaConf.create({"paths": {"run_dir": str(tmp_path / "file" / "run")}, "seed": 0})
    with pytest.raises(TrainingError, match="a file is in the way; set paths.output_dir"):
        open_run_dir(cfg)
