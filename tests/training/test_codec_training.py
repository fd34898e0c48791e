"""Codec training end to end on CPU with the real configs (experiment=smoke, tiny model)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sda.audio.io import write_audio
from sda.dataset import DatasetError
from sda.training.codebook_size import pick_codebook_size
from sda.training.train_codec import TrainingError, compose_config, train

RATE = 48000


def make_sounds(folder: Path, count: int = 4, seconds: float = 2.0, seed: int = 0) -> Path:
    """Plucks and noise bursts: enough variety for a codec to have something to learn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    for index in range(count):
        tone = np.sin(2 * np.pi * 110 * (index + 1) * t) * np.exp(-t * (1 + index))
        noise = rng.standard_normal(t.size) * np.exp(-t * 4)
        write_audio(
            folder / f"sound{index}.wav", (0.3 * tone + 0.05 * noise).astype(np.float32), RATE
        )
    return folder


def smoke_config(tmp_path: Path, data: Path, *overrides: str):
    return compose_config(
        [
            "experiment=smoke",
            f"data.dir={data}",
            f"paths.output_dir={tmp_path / 'outputs'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            *overrides,
        ]
    )


def scalars(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(
        str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "audio": 0}
    )
    events.Reload()
    return events


def checkpoint(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def only_primitives(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and only_primitives(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(only_primitives(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One smoke run shared by the checks below: 30 steps on one repeated batch without quantizer
    dropout (debug=overfit), so the loss curve is clean; validation kept on."""
    tmp_path = tmp_path_factory.mktemp("smoke")
    data = make_sounds(tmp_path / "sounds")
    cfg = smoke_config(
        tmp_path,
        data,
        "debug=overfit",
        "trainer.max_steps=30",
        "trainer.limit_val_batches=1",
        "quantizer.dropout_probability=0",
        "training.learning_rate=3e-3",
    )
    return train(cfg)


def test_loss_decreases(trained: Path) -> None:
    mel = [event.value for event in scalars(trained).Scalars("train/mel")]
    assert len(mel) == 30
    assert np.mean(mel[-5:]) < 0.85 * np.mean(mel[:5])


def test_run_dir_records_config_codebook_size_and_dataset(trained: Path) -> None:
    assert (trained / "dataset_report.json").is_file()
    assert (trained / "codebook_size.txt").read_text().strip() == "64"
    saved = OmegaConf.load(trained / ".hydra" / "config.yaml")
    assert saved.quantizer.codebook_size == 64 and saved.model.codebook_size == 64
    ckpt = checkpoint(trained)
    assert ckpt["global_step"] == 30
    hparams = ckpt["hyper_parameters"]
    assert set(hparams) == {"codec", "dataset"} and only_primitives(hparams)
    assert hparams["codec"]["codebook_size"] == 64 and hparams["dataset"]["usable_files"] == 4
    assert all(k.startswith("codec.") for k in ckpt["state_dict"])


def test_tensorboard_holds_losses_codebook_stats_and_audio(trained: Path) -> None:
    events = scalars(trained)
    tags = events.Tags()
    for tag in ("train/loss", "train/mel", "train/stft", "train/commit", "val/mel_distance"):
        assert tag in tags["scalars"], tag
    for level in range(4):
        for stat in ("perplexity", "used_percent", "dead_code_resets"):
            assert f"codebook/{stat}_level{level}" in tags["scalars"]
    assert {"example0/original", "example0/reconstruction", "example0/levels_1"} <= set(
        tags["audio"]
    )
    assert "example0/reconstruction_spectrogram" in tags["images"]


def test_trained_codec_is_consistent_in_eval(trained: Path) -> None:
    from sda.models.codec import Codec, CodecConfig

    ckpt = checkpoint(trained)
    codec = Codec(CodecConfig.from_dict(ckpt["hyper_parameters"]["codec"]))
    codec.load_state_dict(
        {k[6:]: v for k, v in ckpt["state_dict"].items() if k.startswith("codec.")}
    )
    codec.eval()
    assert codec.quantizer.initialized
    audio = torch.randn(1, 6000) * 0.1
    codes = codec.encode(audio)
    assert torch.allclose(codec.decode(codes), codec(audio).audio, atol=1e-5)


def test_resume_continues_the_step_count(tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    first = train(smoke_config(tmp_path, data, "trainer.max_steps=4"))
    fingerprint_before = checkpoint(first)["global_step"]
    assert fingerprint_before == 4
    again = train(smoke_config(tmp_path, data, "trainer.max_steps=7"))
    assert again == first and checkpoint(again)["global_step"] == 7
    steps = sorted({event.step for event in scalars(again).Scalars("train/loss")})
    assert steps == list(range(7))


def test_a_run_begun_before_a_default_changed_resumes_as_it_began(tmp_path: Path) -> None:
    # runs begun before the base gained fine-time envelopes and a short synthesis window
    data = make_sounds(tmp_path / "sounds", count=2)
    old = ("model.fine_time_bands=0", "model.head_upsample=1", "trainer.max_steps=2")
    first = train(smoke_config(tmp_path, data, *old))
    again = train(smoke_config(tmp_path, data, "model.fine_time_bands=4", "trainer.max_steps=3"))
    resumed = checkpoint(again)
    assert again == first and resumed["global_step"] == 3
    assert resumed["hyper_parameters"]["codec"]["fine_time_bands"] == 0
    assert resumed["hyper_parameters"]["codec"]["head_upsample"] == 1


def test_a_run_without_a_logger_trains(tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    run = train(smoke_config(tmp_path, data, "trainer.max_steps=2", "logger=none"))
    assert checkpoint(run)["global_step"] == 2
    assert not (run / "tensorboard").exists()


def test_adversarial_phase_trains_only_the_decoder(tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    extra = ("training.adversarial_start_step=2", "training.discriminator_channels=4")
    before = checkpoint(train(smoke_config(tmp_path, data, "trainer.max_steps=2", *extra)))
    run = train(smoke_config(tmp_path, data, "trainer.max_steps=4", *extra))
    after = checkpoint(run)
    assert after["global_step"] == 4  # discriminator steps are not codec steps
    assert "train/discriminator" in scalars(run).Tags()["scalars"]
    codes_side = [
        k for k in after["state_dict"] if k.startswith(("codec.encoder", "codec.quantizer"))
    ]
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in codes_side)
    assert not torch.equal(
        before["state_dict"]["codec.decoder.head.proj.weight"],
        after["state_dict"]["codec.decoder.head.proj.weight"],
    )
    assert any(k.startswith("discriminators.") for k in after["state_dict"])


def test_codebook_size_is_picked_from_the_data(tmp_path: Path) -> None:
    # the tiny model runs at 187.5 frames/s: 24 s of audio -> 4,500 frames -> 128 codes
    data = make_sounds(tmp_path / "sounds", count=4, seconds=6.0)
    cfg = smoke_config(
        tmp_path, data, "quantizer=auto", "quantizer.num_levels=2", "trainer.max_steps=2"
    )
    run = train(cfg)
    expected = pick_codebook_size(int(24.0 * 187.5))
    assert expected == 128
    assert (run / "codebook_size.txt").read_text().strip() == "128"
    assert OmegaConf.load(run / ".hydra" / "config.yaml").model.codebook_size == 128
    assert checkpoint(run)["hyper_parameters"]["codec"]["codebook_size"] == 128


def test_init_from_grows_a_trained_codec(trained: Path, tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "more", count=3, seed=1)
    run = train(
        smoke_config(tmp_path, data, f"init_from={trained}", "trainer.max_steps=2", "name=grown")
    )
    ckpt = checkpoint(run)
    assert ckpt["hyper_parameters"]["codec"] == checkpoint(trained)["hyper_parameters"]["codec"]
    assert ckpt["hyper_parameters"]["init_from"]["source"] == str(trained.resolve())


def test_bad_inputs_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="does not exist"):
        train(smoke_config(tmp_path, tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="No audio files"):
        train(smoke_config(tmp_path, tmp_path / "empty"))
    with pytest.raises(TrainingError, match="data.dir"):
        train(compose_config([f"paths.output_dir={tmp_path}"]))
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="no CUDA GPU"):
            train(smoke_config(tmp_path, make_sounds(tmp_path / "s"), "trainer=gpu"))


def test_short_and_nan_files_still_train(tmp_path: Path) -> None:
    data = tmp_path / "odd"
    data.mkdir()
    write_audio(data / "short.wav", (0.3 * np.sin(np.arange(9600) / 8)).astype(np.float32), RATE)
    broken = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    broken[100:200] = np.nan
    # write_audio refuses NaN (rightly); a broken file from elsewhere is written raw here
    soundfile.write(data / "nan.wav", broken, RATE, subtype="FLOAT")
    run = train(
        smoke_config(tmp_path, data, "trainer.max_steps=2", "trainer.num_sanity_val_steps=0")
    )
    state = checkpoint(run)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


# --- the console script: kill -9 + resume, multirun, user errors ---------------------------------
def sda_train(*args: str, tmp_path: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, "-m", "sda.training.train_codec", *args]
    return subprocess.Popen(command, cwd=tmp_path, env=env, text=True, **kwargs)


@pytest.mark.slow
def test_kill_9_then_same_command_resumes(tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    args = ("experiment=smoke", f"data.dir={data}", f"data.cache_dir={tmp_path / 'cache'}")
    last = tmp_path / "outputs" / "codec" / "smoke" / "checkpoints" / "last.ckpt"
    process = sda_train(*args, "trainer.max_steps=100000", tmp_path=tmp_path)
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # let the save finish
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    assert killed_at >= 5
    again = sda_train(*args, f"trainer.max_steps={killed_at + 3}", tmp_path=tmp_path)
    assert again.wait(timeout=180) == 0
    assert torch.load(last, map_location="cpu", weights_only=True)["global_step"] == killed_at + 3


@pytest.mark.slow
def test_multirun_two_jobs(tmp_path: Path) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    process = sda_train(
        "-m",
        "experiment=smoke",
        f"data.dir={data}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "trainer.max_steps=2,3",
        tmp_path=tmp_path,
    )
    assert process.wait(timeout=300) == 0
    sweep = tmp_path / "outputs" / "sweeps" / "smoke"
    steps = sorted(
        torch.load(sweep / job / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for job in ("0", "1")
    )
    assert steps == [2, 3]


@pytest.mark.slow
def test_console_errors_are_one_line(tmp_path: Path) -> None:
    process = sda_train("data.dir=/no/such/folder", tmp_path=tmp_path, stderr=subprocess.PIPE)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "Traceback" not in stderr and "error: data.dir /no/such/folder does not exist" in stderr
    process = sda_train("data.dir=/tmp", "no_such_key=1", tmp_path=tmp_path, stderr=subprocess.PIPE)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and "no_such_key" in stderr and "Traceback" not in stderr
