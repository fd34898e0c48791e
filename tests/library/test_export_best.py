"""`sda library add` takes the codec weights with the lowest held-out mel (checkpoints/best.ckpt) from a
real tiny training run; `--checkpoint last` and a damaged best.ckpt take the last ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import factories
import pytest
import torch
from factories import run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sda.library import Library, add_run, load_bundle
from sda.training.train_codec import compose_config, train


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory) -> Path:
    """12 smoke steps: validations (and best.ckpt candidates) at steps 5 and 10, last.ckpt at 12."""
    tmp_path = tmp_path_factory.mktemp("best_run")
    data = tmp_path / "data"
    factories.write_tiny_audio(data, count=4, seconds=1.0)
    cfg = compose_config(
        [
            "experiment=smoke",
            f"data.dir={data}",
            f"paths.output_dir={tmp_path / 'outputs'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "trainer.max_steps=12",
        ]
    )
    return train(cfg)


@pytest.fixture
def run(codec_run, tmp_path) -> Path:
    """A copy of the shared run that a test may damage."""
    return Path(shutil.copytree(codec_run, tmp_path / "run"))


def codec_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return {k[len("codec.") :]: v for k, v in state.items() if k.startswith("codec.")}


def same_weights(codec, weights: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, weights[k]) for k, v in codec.state_dict().items())


def held_out_mel(run: Path) -> list[tuple[int, float]]:
    """(step of the validation, val/mel_distance) from the run's TensorBoard log."""
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step + 1, e.value) for e in events.Scalars("val/mel_distance")]  # logged at step-1


def test_export_takes_the_lowest_held_out_mel(codec_run, tmp_path) -> None:
    best, last = codec_run / "checkpoints" / "best.ckpt", codec_run / "checkpoints" / "last.ckpt"
    lowest_step, lowest = min(held_out_mel(codec_run), key=lambda entry: entry[1])
    assert torch.load(best, weights_only=True)["global_step"] == lowest_step
    assert torch.load(last, weights_only=True)["global_step"] == 12
    path = add_run(codec_run, name="best", library=Library(tmp_path / "lib"), preview=False)
    bundle = load_bundle(path)
    assert same_weights(bundle.codec, codec_weights(best))
    assert not same_weights(bundle.codec, codec_weights(last))
    training = bundle.meta["training"]["codec"]
    assert training["checkpoint"] == f"best (step {lowest_step}, held-out mel {lowest:.4f})"
    assert training["global_step"] == lowest_step and "checkpoint_note" not in training
    assert load_bundle(codec_run).id == bundle.id  # a run folder loads the same weights directly


def test_checkpoint_last_takes_the_last_weights(codec_run, tmp_path, capsys) -> None:
    library = tmp_path / "lib"
    code, out, err = run_cli(
        capsys, "library", "add", codec_run, "--name", "last", "--checkpoint", "last", "--no-preview",
        "--library", library,
    )  # fmt: skip
    assert code == 0, err
    assert "codec weights: last (step 12)" in out
    bundle = Library(library).load("last")
    assert same_weights(bundle.codec, codec_weights(codec_run / "checkpoints" / "last.ckpt"))
    assert bundle.meta["training"]["codec"]["checkpoint"] == "last (step 12)"
    code, _, err = run_cli(
        capsys, "library", "add", codec_run, "--name", "x", "--checkpoint", "newest",
        "--library", library,
    )  # fmt: skip
    assert code == 2 and "newest" in err


def test_truncated_best_falls_back_to_last_with_a_note(run, tmp_path, capsys) -> None:
    best = run / "checkpoints" / "best.ckpt"
    best.write_bytes(best.read_bytes()[:2000])
    code, out, err = run_cli(
        capsys, "library", "add", run, "--name", "kit", "--no-preview",
        "--library", tmp_path / "lib",
    )  # fmt: skip
    assert code == 0 and "Traceback" not in err
    assert "best.ckpt could not be read, so the last weights were used" in " ".join(err.split())
    assert "codec weights: last (step 12)" in out
    bundle = Library(tmp_path / "lib").load("kit")
    assert same_weights(bundle.codec, codec_weights(run / "checkpoints" / "last.ckpt"))
    assert "truncated" in bundle.meta["training"]["codec"]["checkpoint_note"]


def test_a_run_without_best_ckpt_exports_its_last_weights(run, tmp_path) -> None:
    (run / "checkpoints" / "best.ckpt").unlink()
    path = add_run(run, name="old", library=Library(tmp_path / "lib"), preview=False)
    training = load_bundle(path).meta["training"]["codec"]
    assert training["checkpoint"] == "last (step 12)"
    assert "has no checkpoints/best.ckpt" in training["checkpoint_note"]


def test_a_prior_keeps_the_codec_weights_it_learned_from(run, tmp_path, tiny_training_audio):
    """A prior trained on the last weights (before best.ckpt was kept) still exports with them."""
    from sda.library.checkpoints import codec_bundle, read_checkpoint

    last_codec = codec_bundle(read_checkpoint(run, checkpoint="last")).codec
    prior = factories.train_tiny_prior(last_codec, tiny_training_audio[:2], steps=1)
    prior_run = factories.write_prior_run(
        tmp_path / "prior_run",
        prior,
        codec_source=run,
        codec_fingerprint=last_codec.fingerprint(),
    )
    library = Library(tmp_path / "lib")
    path = add_run(run, prior_run=prior_run, name="full", library=library, preview=False)
    bundle = load_bundle(path)
    assert bundle.has_prior and bundle.id == last_codec.fingerprint()
    assert (
        "trained on the codec's last weights" in bundle.meta["training"]["codec"]["checkpoint_note"]
    )
    assert load_bundle(prior_run).id == last_codec.fingerprint()  # loading the run pairs alike
