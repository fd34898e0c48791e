"""The prior of a stereo model: trained on the mid and side grids stacked (sda.training.prior_data)."""

import json
from pathlib import Path

import factories
import numpy as np
import pytest
import torch

from sda.models.stereo_codec import StereoCodec
from sda.training import prior_data
from sda.training.prior_variants import Variant

RATE = 48_000


@pytest.fixture(scope="module")
def stereo_codec(tiny_models):
    return factories.stereo_twin(tiny_models[0])


def test_a_stereo_recording_encodes_to_the_mid_then_the_side_grid(stereo_codec, tmp_path):
    sound = factories.synth_stereo(0.5, seed=3, width=0.6)
    encoded = prior_data.encode_recording(
        stereo_codec, "wide", sound, shifts=2, fingerprint=stereo_codec.fingerprint(),
        cache=tmp_path,
    )  # fmt: skip
    levels = stereo_codec.config.num_levels
    grid = encoded.codes[0]  # the unshifted copy
    assert grid.shape[0] == stereo_codec.config.grid_levels == levels + 2 + 1  # + direction
    codes = StereoCodec.of(stereo_codec).encode(torch.from_numpy(sound)[None])
    frames = grid.shape[1]  # shifted copies may be a frame shorter: all are cut to the shortest
    assert np.array_equal(grid[:levels], codes.mid[0, :, :frames].numpy())
    assert np.array_equal(grid[levels:], codes.side[0, :, :frames].numpy())
    again = prior_data.encode_recording(  # read back from the cache: the same grids
        stereo_codec, "wide", sound, shifts=2, fingerprint=stereo_codec.fingerprint(),
        cache=tmp_path,
    )  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(encoded.codes, again.codes, strict=True))


def test_a_mono_recording_counts_as_centred(stereo_codec):
    mono = factories.synth_sound("pluck", seconds=0.5, seed=1)
    offsets = [0]
    as_mono = prior_data._encode(stereo_codec, mono, offsets)[0]
    as_centred = prior_data._encode(stereo_codec, np.stack([mono, mono]), offsets)[0]
    assert np.array_equal(as_mono, as_centred)
    silence = StereoCodec.of(stereo_codec).encode(torch.zeros(1, 2, len(mono)))
    assert np.array_equal(as_mono[stereo_codec.config.num_levels :], silence.side[0].numpy())


def test_a_short_stereo_sound_and_a_mono_one_chain_into_one_stereo_stream():
    stereo = np.ones((2, 30), np.float32) * np.array([[0.5], [-0.5]], np.float32)
    mono = np.full(20, 0.25, np.float32)
    packed = prior_data.pack_short_sounds(
        ["a", "b"], [stereo, mono], min_samples=100, gap=5, stream_samples=1000, seed=0
    )
    assert len(packed) == 1
    stream = packed[0][1]
    assert stream.shape == (2, 30 + 20 + 2 * 5)
    centred = stream[:, np.isclose(stream[0], 0.25)]
    assert centred.shape[1] == 20 and np.array_equal(centred[0], centred[1])


def test_a_stereo_copy_changes_both_channels_alike():
    sound = factories.synth_stereo(0.5, seed=0, width=0.5)
    copy = Variant(17, 16, -10.0)
    whole = copy.apply(sound)
    assert whole.shape == (2, copy.length(sound.shape[1]))
    assert np.allclose(whole[0], copy.apply(sound[0])) and np.allclose(
        whole[1], copy.apply(sound[1])
    )
    streamed = np.concatenate(list(copy.apply_in_blocks(sound, block=4096)), axis=-1)
    assert streamed.shape == whole.shape and np.allclose(streamed, whole, atol=1e-5)
    assert prior_data.material_level([sound])["peak_dbfs"] == pytest.approx(
        20 * np.log10(np.abs(sound).max()), abs=0.01
    )


@pytest.fixture(scope="module")
def stereo_prior_run(tmp_path_factory, stereo_codec) -> Path:
    from sda.audio.io import write_audio
    from sda.training.train_prior import compose_config, train

    audio_dir = tmp_path_factory.mktemp("stereo_audio")
    for index in range(3):
        sound = factories.synth_stereo(1.5, seed=index, width=0.3 + 0.2 * index)
        write_audio(audio_dir / f"wide{index}.wav", sound, RATE)
    run = factories.write_codec_run(
        tmp_path_factory.mktemp("stereo_codec_run"), stereo_codec, dataset_dir=audio_dir
    )
    out = tmp_path_factory.mktemp("out")
    torch.set_num_threads(1)
    config = compose_config(
        [
            f"codec={run}",
            "experiment=prior_smoke",
            f"paths.output_dir={out}",
            f"data.cache_dir={out / 'cache'}",
        ]
    )
    return train(config)


def test_a_tiny_stereo_prior_trains_on_stacked_grids_and_loads(stereo_prior_run, stereo_codec):
    from sda.library import load_bundle
    from sda.models.prior import PriorConfig

    checkpoint = torch.load(stereo_prior_run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 10  # prior_smoke's steps all ran
    config = PriorConfig.from_dict(checkpoint["hyper_parameters"]["prior"])
    assert config.num_levels == stereo_codec.config.grid_levels
    bundle = load_bundle(stereo_prior_run)  # checks the prior against both grids
    assert bundle.stereo and bundle.prior.config.num_levels == config.num_levels

    folder = json.loads((stereo_prior_run / "dataset_report.json").read_text())["folder"]
    data = prior_data.PriorDataModule(
        codec=bundle.codec, dir=folder, context_frames=config.context_frames,
        pad=config.pad_token, shifts=2, batch_size=2, steps_per_epoch=1,
        cache_dir=stereo_prior_run.parent.parent / "cache",  # the run's: its codes read back
    )  # fmt: skip
    data.setup()
    assert data.report.channels == 2  # the files were read as left/right, not mixed to mono
    batch = next(iter(data.train_dataloader()))
    assert batch["codes"].shape[1] == stereo_codec.config.grid_levels
    with torch.no_grad():
        loss, logits = bundle.prior.loss(batch["codes"], batch["controls"])
    assert torch.isfinite(loss) and logits.shape[1] == stereo_codec.config.grid_levels


def test_a_prior_override_of_the_mono_levels_is_refused_for_a_stereo_codec(
    stereo_prior_run, tmp_path
):
    from omegaconf import OmegaConf

    from sda.training.errors import TrainingError
    from sda.training.train_prior import compose_config, train

    saved = OmegaConf.load(stereo_prior_run / ".hydra" / "config.yaml")
    levels = 4  # the mid's levels alone: the prior must read the side's rows too
    with pytest.raises(TrainingError, match="mid \\+ side levels"):
        train(
            compose_config(
                [
                    f"codec={saved.codec}",
                    "experiment=prior_smoke",
                    f"paths.output_dir={tmp_path}",
                    f"model.num_levels={levels}",
                ]
            )
        )
