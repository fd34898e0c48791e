"""Reading training runs (`sda.library.checkpoints`): which checkpoint file, what is kept from it,
what is refused, and how a prior run finds the codec it was trained on."""

from __future__ import annotations

import os
from pathlib import Path

import factories
import pytest
import torch

from sda.library import BundleError
from sda.library.checkpoints import (
    check_prior_matches,
    checkpoint_label,
    codec_bundle,
    find_checkpoint,
    load_run,
    read_checkpoint,
    resolve_codec_source,
    run_meta,
)


class NotWeights:
    """Stands for any object a pickle could bring along (and run code while doing so)."""


@pytest.fixture
def codec_run(tmp_path, tiny_models) -> Path:
    return factories.write_codec_run(tmp_path / "codec", tiny_models[0])


@pytest.fixture
def prior_run(tmp_path, tiny_models, codec_run) -> Path:
    codec, prior = tiny_models
    return factories.write_prior_run(
        tmp_path / "prior",
        prior,
        codec_source=Path("..") / "codec",  # relative to the prior run, as a moved project has it
        codec_fingerprint=codec.fingerprint(),
    )


def touch(path: Path, when: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.utime(path, (when, when))
    return path


def test_a_codec_run_keeps_the_weights_and_drops_training_state(codec_run, tiny_models):
    run = read_checkpoint(codec_run)
    assert run.kind == "codec" and run.run_dir == codec_run
    assert run.checkpoint == codec_run / "checkpoints" / "last.ckpt"
    expected = tiny_models[0].state_dict()
    assert set(run.state) == set(expected)  # no "codec." prefix, no discriminator
    assert all(torch.equal(run.state[key], expected[key]) for key in expected)
    assert run.training["global_step"] == 30 and run.training["epoch"] == 3
    assert run.training["metrics"] == {"best val/mel_distance": 1.25}
    assert run.training["checkpoint"] == "last (step 30)"
    assert "no checkpoints/best.ckpt" in run.note  # asked for best, said why it got last


def test_a_named_checkpoint_file_is_read_as_it_is(codec_run):
    run = read_checkpoint(codec_run / "checkpoints" / "last.ckpt")
    assert run.run_dir == codec_run and run.note is None
    assert read_checkpoint(codec_run, checkpoint="last").note is None


def test_the_label_names_best_weights_with_their_held_out_mel(codec_run):
    run = read_checkpoint(codec_run)
    run.checkpoint = run.checkpoint.with_name("best.ckpt")
    assert checkpoint_label(run) == "best (step 30, held-out mel 1.2500)"
    run.training = {}
    assert checkpoint_label(run) == "best"


def test_last_then_the_newest_step_file_then_best(tmp_path):
    run = tmp_path / "run"
    touch(run / "checkpoints" / "best.ckpt", 300)  # newest, but older weights
    touch(run / "checkpoints" / "step10.ckpt", 100)
    touch(run / "checkpoints" / "step20.ckpt", 200)
    assert find_checkpoint(run) == (run, run / "checkpoints" / "step20.ckpt")
    touch(run / "checkpoints" / "last.ckpt", 50)
    assert find_checkpoint(run) == (run, run / "checkpoints" / "last.ckpt")
    only_best = tmp_path / "only_best"
    touch(only_best / "checkpoints" / "best.ckpt", 1)
    assert find_checkpoint(only_best)[1].name == "best.ckpt"
    loose = touch(tmp_path / "loose" / "weights.ckpt", 1)  # a file outside checkpoints/
    assert find_checkpoint(loose) == (loose.parent, loose)
    with pytest.raises(BundleError, match="neither a bundle .* nor a training run"):
        find_checkpoint(tmp_path / "empty")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"state_dict": {}, "extra": NotWeights()}, "refuses to unpickle"),
        ({"weights": {}}, "not a Lightning training checkpoint"),
        ({"state_dict": {"x": torch.zeros(1)}, "hyper_parameters": {}}, "neither a codec nor"),
        (
            {"state_dict": {"other.x": torch.zeros(1)}, "hyper_parameters": {"codec": {}}},
            "has no 'codec.\\*' weights",
        ),
    ],
)
def test_foreign_or_unsafe_checkpoints_are_refused(tmp_path, content, message):
    path = tmp_path / "run" / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    torch.save(content, path)
    with pytest.raises(BundleError, match=message):
        read_checkpoint(path)


def test_an_unknown_checkpoint_choice_is_refused(codec_run):
    with pytest.raises(BundleError, match='"best" or "last", not "newest"'):
        read_checkpoint(codec_run, checkpoint="newest")


def test_a_prior_run_finds_its_codec_relative_to_itself(prior_run, codec_run):
    prior = read_checkpoint(prior_run)
    assert prior.kind == "prior"
    assert resolve_codec_source(prior).resolve() == codec_run.resolve()
    prior.hparams["codec_source"] = "/nowhere/codec"
    with pytest.raises(BundleError, match="no longer exists.*sda library add CODEC_RUN --prior"):
        resolve_codec_source(prior)
    prior.hparams.pop("codec_source")
    with pytest.raises(BundleError, match="does not record which codec"):
        resolve_codec_source(prior)


def test_a_prior_run_loads_with_a_codec_run_bundle_or_checkpoint(
    prior_run, codec_run, tiny_bundle, tiny_models
):
    fingerprint = tiny_models[0].fingerprint()
    for codec in (None, tiny_bundle.path, codec_run / "checkpoints" / "last.ckpt"):
        bundle = load_run(prior_run, codec=codec)
        assert bundle.prior is not None and bundle.id == fingerprint, codec
        assert bundle.meta["source"]["prior"] == str(prior_run)
        assert bundle.meta["descriptor_stats"] == factories.DESCRIPTOR_STATS


def test_a_prior_is_refused_with_another_codec(prior_run, codec_run, tmp_path):
    prior = read_checkpoint(prior_run)
    prior.hparams["codec_fingerprint"] = "0" * 16
    with pytest.raises(BundleError, match="trained on codec 0000000000000000"):
        check_prior_matches(prior, codec_bundle(read_checkpoint(codec_run)))


def test_run_meta_names_the_run_and_carries_its_dataset(codec_run):
    run = read_checkpoint(codec_run)
    meta = run_meta(run)
    assert meta["name"] == "codec" and meta["source"] == {"codec": str(codec_run)}
    assert meta["training"]["codec"]["global_step"] == 30
    assert meta["dataset"] == {"dir": ""}
