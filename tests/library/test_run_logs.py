"""What a training run's folder says beyond its weights (`sda.library.run_logs`): TensorBoard
scalars, the final evaluation, the dataset report and where a grown codec started. Damaged logs
give less information, never an error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sda.library.checkpoints import RunCheckpoint
from sda.library.run_logs import (
    dataset_summary,
    init_from,
    tensorboard_metrics,
    training_metrics,
)


def run_at(folder: Path, **hparams) -> RunCheckpoint:
    folder.mkdir(parents=True, exist_ok=True)
    return RunCheckpoint(
        run_dir=folder,
        checkpoint=folder / "checkpoints" / "last.ckpt",
        kind="codec",
        hparams=hparams,
        state={},
        training={"global_step": 7, "metrics": {"best val/mel_distance": 0.9}},
    )


def write_scalars(folder: Path, scalars: dict[str, list[float]]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder))
    for tag, values in scalars.items():
        for step, value in enumerate(values):
            writer.add_scalar(tag, value, step)
    writer.close()


def test_the_dataset_report_becomes_files_with_hashes(tmp_path):
    data = tmp_path / "data"
    (data / "kicks").mkdir(parents=True)
    (data / "kicks" / "a.wav").write_bytes(b"first sound")
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"second sound")
    files = [
        {"path": str(data / "kicks" / "a.wav"), "verdict": "ok", "seconds": 1.25},
        {"path": str(outside), "verdict": "ok", "seconds": 2.0},
        {"path": str(data / "gone.wav"), "verdict": "ok", "seconds": 0.5},
        {"path": str(data / "bad.wav"), "verdict": "rejected", "seconds": 9.0},
    ]
    run = run_at(tmp_path / "run", dataset={"dir": str(data)})
    (run.run_dir / "dataset_report.json").write_text(
        json.dumps({"folder": str(data), "files": files}), encoding="utf-8"
    )
    summary = dataset_summary(run)
    assert summary["dir"] == str(data) and summary["folder"] == str(data)
    assert summary["files"] == [
        {
            "name": "kicks/a.wav",
            "sha256": hashlib.sha256(b"first sound").hexdigest(),
            "seconds": 1.25,
        },
        {
            "name": "elsewhere.wav",
            "sha256": hashlib.sha256(b"second sound").hexdigest(),
            "seconds": 2.0,
        },
        {"name": "gone.wav", "sha256": None, "seconds": 0.5},  # moved since: no hash, still listed
    ]
    assert summary["count"] == 3 and summary["seconds"] == 3.75


@pytest.mark.parametrize(
    "report",
    [
        "not json",
        json.dumps({"folder": 3, "files": "x"}),
        json.dumps({"folder": "/data", "files": ["x"]}),
        json.dumps({"folder": "/data", "files": [{"verdict": "ok"}]}),  # no path
        json.dumps({"folder": "/data", "files": [{"verdict": "ok", "path": 5}]}),
        "[" * 100_000,  # nested past Python's recursion limit
    ],
)
def test_a_damaged_dataset_report_leaves_what_the_checkpoint_says(tmp_path, report):
    run = run_at(tmp_path / "run", dataset={"dir": "/data"})
    (run.run_dir / "dataset_report.json").write_text(report, encoding="utf-8")
    assert dataset_summary(run) == {"dir": "/data"}


def test_where_a_grown_codec_started(tmp_path):
    recorded = {"source": "base kit", "fingerprint": "abcd"}
    assert init_from(run_at(tmp_path / "a", init_from=recorded)) == ("base kit", "abcd")
    assert init_from(run_at(tmp_path / "b", init_from="outputs/codec/old")) == (
        "outputs/codec/old",
        None,
    )
    hydra_run = run_at(tmp_path / "c")
    (hydra_run.run_dir / ".hydra").mkdir()
    config = hydra_run.run_dir / ".hydra" / "config.yaml"
    config.write_text("name: x\ninit_from: my kit\n", encoding="utf-8")
    assert init_from(hydra_run) == ("my kit", None)
    config.write_text("init_from: [unclosed\n", encoding="utf-8")
    assert init_from(hydra_run) == (None, None)
    assert init_from(run_at(tmp_path / "d")) == (None, None)


def test_tensorboard_scalars_keep_the_last_and_the_best(tmp_path):
    run = tmp_path / "run"
    write_scalars(
        run / "tensorboard" / "version_0",
        {
            "val/mel_distance": [0.5, 0.3, 0.4],
            "val/accuracy": [0.1, 0.5, 0.4],
            "val/plateau": [0.0, 1.0],
            "train/loss": [2.0, 1.0],
            "train/grad_norm": [9.0],  # not worth keeping with a model
        },
    )
    assert tensorboard_metrics(run) == {
        "val/mel_distance": 0.4,
        "val/mel_distance (best)": 0.3,
        "val/accuracy": 0.4,
        "val/accuracy (best)": 0.5,  # higher is better
        "val/plateau": 1.0,  # a flag has no best
        "train/loss": 1.0,
    }


def test_no_logs_or_damaged_logs_give_nothing(tmp_path):
    run = tmp_path / "run"
    assert tensorboard_metrics(run) == {}
    damaged = run / "tensorboard" / "events.out.tfevents.1.host"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"\x00garbage" * 10)
    assert tensorboard_metrics(run) == {}


def test_training_metrics_join_checkpoint_logs_and_final_evaluation(tmp_path):
    run = run_at(tmp_path / "run")
    write_scalars(run.run_dir / "tensorboard", {"train/loss": [3.0, 2.5]})
    (run.run_dir / "metrics.json").write_text(json.dumps({"mel": 0.8}), encoding="utf-8")
    info = training_metrics(run)
    assert info["global_step"] == 7 and info["final"] == {"mel": 0.8}
    assert info["metrics"] == {"best val/mel_distance": 0.9, "train/loss": 2.5}
    for damaged in ("{cut short", "[1, 2]", "[" * 100_000):
        (run.run_dir / "metrics.json").write_text(damaged, encoding="utf-8")
        assert "final" not in training_metrics(run)
