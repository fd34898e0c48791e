"""Stereo codec training end to end (issue 17): `model.channels=auto` picks stereo on a stereo
folder, the run records it, and `sda library add` of the run gives a stereo bundle that decodes
a stereo file to two channels; mixed and multichannel folders are reported per file."""

from __future__ import annotations

from pathlib import Path

import factories
import numpy as np
import pytest
import soundfile
import torch
from omegaconf import OmegaConf
from test_codec_training import checkpoint, make_sounds, scalars, smoke_config

from sda.dataset import scan_folder
from sda.training.train_codec import train

RATE = 48000


def stereo_folder(folder: Path, count: int = 3, seconds: float = 1.0) -> Path:
    """Short stereo WAVs: a pluck and a drone panned apart, a different width in each."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        audio = factories.synth_stereo(seconds, seed=index, width=0.3 + 0.3 * (index % 3))
        soundfile.write(folder / f"stereo{index}.wav", audio.T, RATE, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def stereo_run(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("stereo")
    data = stereo_folder(tmp_path / "sounds")
    return train(smoke_config(tmp_path, data, "trainer.max_steps=6", "name=stereo"))


def test_auto_picks_stereo_and_the_run_records_it(stereo_run: Path) -> None:
    saved = OmegaConf.load(stereo_run / ".hydra" / "config.yaml")
    assert saved.model.channels == 2 and saved.data.channels == 2
    hparams = checkpoint(stereo_run)["hyper_parameters"]
    assert hparams["codec"]["channels"] == 2
    assert hparams["dataset"]["channels"] == 2
    report = (stereo_run / "dataset_report.json").read_text()
    assert '"channels": 2' in report and "auto: 100 % of the usable audio" in report


def test_stereo_validation_reports_channels_and_image(stereo_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(stereo_run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    wanted = {
        "val/mel_distance",
        "val/mel_left",
        "val/mel_right",
        "val/side_mid_db_error",
        "val/correlation_error",
        "train/correlation_error",
    }
    assert wanted <= tags, wanted - tags
    assert "train/mel_channels" not in tags  # the L/R spectral loss is off by default (its cost)
    assert all(np.isfinite(e.value) for e in events.Scalars("val/correlation_error"))


def test_the_library_bundle_of_a_stereo_run_decodes_stereo(stereo_run: Path, tmp_path) -> None:
    from sda.dna.stereo_bridge import decode_stereo, encode_stereo
    from sda.library import Library, add_run, load_bundle_folder

    library = Library(tmp_path / "library")
    folder = add_run(stereo_run, name="stereo kit", library=library, checkpoint="last")
    bundle = load_bundle_folder(folder)
    assert bundle.channels == 2 and bundle.stereo
    sound = factories.synth_stereo(0.5, seed=7, width=0.8)
    decoded = decode_stereo(bundle, encode_stereo(bundle, sound))
    assert decoded.shape[0] == 2 and decoded.shape[1] >= sound.shape[1]
    assert not np.allclose(decoded[0], decoded[1])  # a real side, not a centred mono decode
    assert soundfile.info(folder / "preview.ogg").channels == 2  # the library plays it in stereo


def test_a_mixed_folder_reports_centred_mono_and_downmixed_multichannel(tmp_path) -> None:
    data = stereo_folder(tmp_path / "mixed", count=2, seconds=1.5)
    soundfile.write(data / "mono.wav", factories.synth_sound("pluck", seconds=0.5), RATE)
    four = np.random.default_rng(0).uniform(-0.3, 0.3, (RATE // 2, 4)).astype(np.float32)
    soundfile.write(data / "four.wav", four, RATE)
    report = scan_folder(data, cache_dir=tmp_path / "cache", channels="auto", min_seconds=0.25)
    flags = {entry.path.name: entry.flags for entry in report.files}
    assert report.channels == 2
    assert flags["mono.wav"] == ["mono -> centred stereo"]
    assert flags["four.wav"] == ["4 channels -> stereo"]
    assert flags["stereo0.wav"] == []
    mono = scan_folder(data, cache_dir=tmp_path / "cache", channels=1, min_seconds=0.25)
    assert {e.path.name: e.flags for e in mono.files}["four.wav"] == ["mixed (4 channels -> mono)"]


def test_a_mono_folder_trains_a_mono_model_that_grows_into_stereo(tmp_path, capsys) -> None:
    data = make_sounds(tmp_path / "mono", count=2, seconds=1.0)
    run = train(smoke_config(tmp_path, data, "trainer.max_steps=1", "name=mono"))
    said = capsys.readouterr().err
    assert "channels: mono (auto: 0 % of the usable audio, by seconds, is stereo); " in said
    assert "model.channels=2 trains a stereo model instead" in said
    mono = checkpoint(run)["hyper_parameters"]["codec"]
    assert mono["channels"] == 1
    assert OmegaConf.load(run / ".hydra" / "config.yaml").model.channels == 1
    # the same weights code mid and side: growing the mono model on stereo data gives a stereo
    # model with everything else (codebooks, architecture) kept
    stereo = stereo_folder(tmp_path / "stereo", count=2)
    grown = train(smoke_config(tmp_path, stereo, f"init_from={run}", "trainer.max_steps=1"))
    codec = checkpoint(grown)["hyper_parameters"]["codec"]
    assert codec == {**mono, "channels": 2, "side_direction": True}


def test_stereo_crops_keep_both_channels_alike(tmp_path) -> None:
    from sda.training.codec_data import AudioDataModule

    # right = half of left everywhere: any augmentation acting on one channel alone (gain,
    # polarity, varispeed, a mixed-in crop) would break the ratio
    data = tmp_path / "sounds"
    data.mkdir()
    left = factories.synth_sound("pluck", seconds=2.0) + factories.synth_sound("drone", seconds=2.0)
    soundfile.write(data / "panned.wav", np.stack([left, 0.5 * left]).T, RATE, subtype="FLOAT")
    module = AudioDataModule(
        dir=data, cache_dir=tmp_path / "cache", channels="auto", segment_seconds=0.25, augment=True
    )
    module.setup()
    assert module.channels == 2
    crops = torch.stack([module.train_set[seed] for seed in range(24)])
    assert crops.shape == (24, 2, RATE // 4)
    assert module.val_set[0].shape == (2, RATE // 4)
    torch.testing.assert_close(crops[:, 1], 0.5 * crops[:, 0], atol=1e-6, rtol=1e-5)
    assert crops.abs().amax() <= 1.0 and crops[:, 0].abs().amax() > 0.05


def test_a_run_from_before_stereo_models_resumes_mono_on_a_stereo_folder(tmp_path) -> None:
    data = stereo_folder(tmp_path / "sounds", count=2)
    run = train(smoke_config(tmp_path, data, "trainer.max_steps=2", "model.channels=1"))
    last = run / "checkpoints" / "last.ckpt"
    state = torch.load(last, map_location="cpu", weights_only=False)
    for key in ("channels", "side_gain", "side_levels"):  # as runs saved before issue 17
        del state["hyper_parameters"]["codec"][key]
    torch.save(state, last)
    again = train(smoke_config(tmp_path, data, "trainer.max_steps=3"))  # model.channels=auto
    assert again == run
    resumed = checkpoint(again)
    assert resumed["global_step"] == 3 and resumed["hyper_parameters"]["codec"]["channels"] == 1


def test_a_mixed_folder_trains_from_scratch_without_falling_silent(tmp_path) -> None:
    """A stereo model from scratch on stereo files and a mono one (whose side is silence): the
    mel loss keeps falling and the gradients stay alive. Before the spectral-convergence floor
    the silent sides' loss of ~1e5 pushed the decoder to silence within 30 steps."""
    data = stereo_folder(tmp_path / "sounds", count=2)
    soundfile.write(data / "mono.wav", factories.synth_stereo(1.0, seed=5)[0], RATE)
    overrides = ("trainer.max_steps=40", "trainer.log_every_n_steps=1", "init_from=none")
    run = train(smoke_config(tmp_path, data, *overrides, "model.channels=2", "name=mixed"))
    events = scalars(run)
    mel = [e.value for e in events.Scalars("train/mel")]
    grad_norm = [e.value for e in events.Scalars("train/grad_norm")]
    assert np.mean(mel[-5:]) < 0.6 * np.mean(mel[:5]), mel
    assert min(grad_norm[-5:]) > 1.0, grad_norm
