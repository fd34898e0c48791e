"""Smoke training of the prior on a tiny codec's codes: the Hydra app end to end, resume, refusals."""

from pathlib import Path

import factories
import pytest
import torch

from sda.audio.descriptors import CONTROL_NAMES
from sda.training import tension_sampling
from sda.training.errors import TrainingError
from sda.training.tension_sampling import choose_way
from sda.training.train_prior import compose_config, train


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory, tiny_models) -> Path:
    codec, _ = tiny_models
    audio_dir = tmp_path_factory.mktemp("audio")
    factories.write_tiny_audio(audio_dir, seconds=1.0)
    return factories.write_codec_run(
        tmp_path_factory.mktemp("codec_run"), codec, dataset_dir=audio_dir
    )


def smoke_config(codec_run: Path, out: Path, *overrides: str):
    return compose_config(
        [
            f"codec={codec_run}",
            "experiment=prior_smoke",
            f"paths.output_dir={out}",
            f"data.cache_dir={out / 'cache'}",
            *overrides,
        ]
    )


@pytest.fixture(scope="module")
def prior_run(codec_run, tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    return train(smoke_config(codec_run, tmp_path_factory.mktemp("out")))


def test_smoke_training_writes_a_loadable_run_and_the_loss_falls(prior_run, codec_run):
    from sda.generate import generate
    from sda.library import load_bundle
    from sda.models.prior import Prior, PriorConfig
    from sda.training.prior_data import PriorDataModule

    checkpoint = torch.load(prior_run / "checkpoints" / "last.ckpt", weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    assert set(hparams) == {"prior", "codec_source", "codec_fingerprint", "descriptor_stats"}
    assert Path(hparams["codec_source"]) == codec_run.resolve()
    assert all(key.startswith("prior.") for key in checkpoint["state_dict"])
    assert list(hparams["descriptor_stats"]) == [
        "brightness", "warmth", "roughness", "tension", "density", "loudness", "material_level",
        "control_fidelity", "tension_sampling",
    ]  # fmt: skip
    sampling = hparams["descriptor_stats"]["tension_sampling"]  # tried on the final weights
    assert sampling["way"] in {"one_take", "steered"}
    assert sampling["way"] == choose_way(sampling["one_take_rho"], sampling["steered_rho"])
    level = hparams["descriptor_stats"]["material_level"]  # measured on the original files
    assert -60 < level["peak_dbfs"] <= 0 and level["rms_dbfs"] < level["peak_dbfs"]
    kept = hparams["descriptor_stats"]["control_fidelity"]  # the material vs its decoded copy
    assert kept and set(kept) <= set(CONTROL_NAMES)
    assert all(-1.0 <= rho <= 1.0 for rho in kept.values()), kept
    assert (prior_run / ".hydra" / "config.yaml").is_file()
    best = prior_run / "checkpoints" / "best.ckpt"  # the lowest validation cross-entropy
    assert load_bundle(best).prior is not None
    assert list((prior_run / "tensorboard").glob("events.*"))

    bundle = load_bundle(prior_run)  # a prior run finds its codec
    assert bundle.prior is not None and bundle.id == hparams["codec_fingerprint"]
    assert bundle.descriptor_stats["control_fidelity"] == kept  # what generate and the app read
    take = generate(bundle, seconds=0.2, seed=0, controls={"brightness": 0.7})
    assert take.codes.bundle_id == bundle.id

    config = PriorConfig.from_dict(hparams["prior"])
    data = PriorDataModule(
        codec=bundle.codec,
        dir=factories_dir(codec_run),
        context_frames=config.context_frames,
        pad=config.pad_token,
        shifts=2,  # as prior_smoke
        cache_dir=prior_run.parent.parent / "cache",  # the run's: encoded codes are read back
    )
    cached = sorted((prior_run.parent.parent / "cache" / "prior-codes").glob("*.npz"))
    assert cached
    data.setup()
    assert sorted((prior_run.parent.parent / "cache" / "prior-codes").glob("*.npz")) == cached
    assert all(len(f.codes) == 2 for f in data.files)  # prior_smoke: two time shifts
    batch = next(iter(data.val_dataloader()))
    torch.manual_seed(0)
    untrained = Prior(config).eval()  # the same initialisation the run started from
    with torch.no_grad():
        before = untrained.loss(batch["codes"], batch["controls"])[0]
        after = bundle.prior.loss(batch["codes"], batch["controls"])[0]
    assert after < before


def factories_dir(codec_run: Path) -> Path:
    import json

    return Path(json.loads((codec_run / "dataset_report.json").read_text())["folder"])


def test_resume_continues_the_step_count(prior_run, codec_run, monkeypatch):
    out = prior_run.parent.parent
    run = train(smoke_config(codec_run, out, "trainer.max_steps=14"))
    assert run == prior_run
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 14
    verdict = checkpoint["hyper_parameters"]["descriptor_stats"]["tension_sampling"]

    def measure_again(*args, **kwargs):
        raise AssertionError("nothing was trained: the earlier tension check still holds")

    monkeypatch.setattr(tension_sampling, "measure_tension_sampling", measure_again)
    train(smoke_config(codec_run, out, "trainer.max_steps=14"))  # nothing left to train
    again = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert again["hyper_parameters"]["descriptor_stats"]["tension_sampling"] == verdict


def test_a_codebook_mismatch_is_refused(prior_run, codec_run, tmp_path, tiny_models):
    with pytest.raises(TrainingError, match="codebook_size=99 does not match"):
        train(smoke_config(codec_run, tmp_path, "model.codebook_size=99"))
    # the same run dir, but another codec: its codes mean different sounds
    codec, _ = tiny_models
    other = factories.train_tiny_codec([factories.synth_sound("noise")], steps=1, seed=5)
    other_run = factories.write_codec_run(
        tmp_path / "other", other, dataset_dir=factories_dir(codec_run)
    )
    out = prior_run.parent.parent
    with pytest.raises(TrainingError, match="trained on codec"):
        train(smoke_config(other_run, out, f"name={prior_run.name}"))


def test_a_missing_codec_is_a_clear_error(tmp_path):
    from sda.errors import SdaError

    with pytest.raises(SdaError, match="does not exist"):
        train(smoke_config(tmp_path / "nowhere", tmp_path))


def test_short_sounds_are_chained_into_streams():
    import numpy as np

    from sda.training.prior_data import pack_short_sounds

    sounds = [np.full(n, i + 1, np.float32) for i, n in enumerate([50, 500, 30, 40, 20])]
    keys = [f"k{i}" for i in range(len(sounds))]
    packed = pack_short_sounds(keys, sounds, min_samples=100, gap=5, stream_samples=80, seed=0)
    assert packed[0] == ("k1", sounds[1])  # long enough: stays alone
    streams = [audio for key, audio in packed[1:]]
    assert all(key.startswith("stream:") for key, _ in packed[1:])
    assert sorted(set(np.concatenate(streams).tolist()) - {0.0}) == [1.0, 3.0, 4.0, 5.0]
    assert sum(len(s) for s in streams) == 50 + 30 + 40 + 20 + 4 * 5
    again = pack_short_sounds(keys, sounds, min_samples=100, gap=5, stream_samples=80, seed=0)
    assert [k for k, _ in again] == [k for k, _ in packed]  # seeded: the cache keys are stable


def test_a_rising_validation_loss_is_reported_as_memorising():
    from sda.training.prior_module import overfitting_note

    assert overfitting_note([(100, 4.0)]) is None
    assert overfitting_note([(100, 4.0), (200, 3.8), (300, 3.85)]) is None  # noise, not a trend
    note = overfitting_note([(100, 4.0), (200, 3.8), (300, 4.2)])
    assert "rose from 3.800 (step 200) to 4.200" in note and "best.ckpt" in note


def test_chained_sounds_get_sparse_and_busy_passages():
    import numpy as np

    from sda.training.prior_data import pack_short_sounds

    sounds = [np.ones(10, np.float32) for _ in range(60)]
    keys = [f"k{i}" for i in range(len(sounds))]
    kwargs = dict(min_samples=100, gap=5, stream_samples=10**6, seed=0)
    fixed = pack_short_sounds(keys, sounds, **kwargs)[0][1]
    mixed = pack_short_sounds(keys, sounds, longest_gap=500, **kwargs)[0][1]
    assert len(fixed) == 60 * 15  # no mix asked: the old fixed gap
    onsets = np.flatnonzero(np.diff(np.concatenate([[0.0], mixed])) > 0)
    gaps = np.diff(onsets) - 10
    assert gaps.min() >= 5 and gaps.max() <= 500 * 1.3
    assert np.quantile(gaps, 0.1) < 30 and np.quantile(gaps, 0.9) > 150  # both kinds of passage
    again = pack_short_sounds(keys, sounds, longest_gap=500, **kwargs)
    assert np.array_equal(again[0][1], mixed)  # seeded: the cache keys stay stable
