"""Bundles: save/load round trips, export from training runs, and every damaged-file case."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import factories
import pytest
import torch

from sda.library import BundleError, Library, add_run, load_bundle, save_bundle
from sda.library.bundle import CODEC_FILE, CONFIG_FILE, META_FILE, PRIOR_FILE


def _decoded(codec, audio) -> torch.Tensor:
    with torch.inference_mode():
        return codec.decode(codec.encode(torch.from_numpy(audio)[None]))


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path) -> Path:
    """A private copy of the tiny bundle's folder, free to damage."""
    return Path(shutil.copytree(tiny_bundle.path, tmp_path / "copy"))


class _Exploit:
    """Unpickling this would create a marker file: proves sda never unpickles untrusted data."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_save_then_load_gives_identical_decoded_audio(tiny_models, tiny_training_audio, tmp_path):
    codec, prior = tiny_models
    path = save_bundle(tmp_path / "b", codec=codec, prior=prior, meta={"tags": ["x"]})
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [CODEC_FILE, PRIOR_FILE, CONFIG_FILE, META_FILE]
    )
    bundle = load_bundle(path)
    assert bundle.name == "b" and bundle.id == codec.fingerprint() and bundle.has_prior
    assert torch.equal(
        _decoded(bundle.codec, tiny_training_audio[0]), _decoded(codec, tiny_training_audio[0])
    )
    codes = codec.encode(torch.from_numpy(tiny_training_audio[1])[None])[:, :, :32]
    with torch.inference_mode():
        assert torch.equal(bundle.prior(codes), prior(codes))
    meta = json.loads((path / META_FILE).read_text())
    assert meta["versions"]["torch"] == torch.__version__ and "sda" in meta["versions"]
    assert meta["id"] == codec.fingerprint() and meta["created"]


def test_save_refuses_an_existing_folder(tiny_models, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("mine")
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(tmp_path / "b", codec=tiny_models[0])
    assert (tmp_path / "b" / "x").read_text() == "mine"


def test_export_codec_run_strips_training_state_and_decodes_identically(
    tiny_models, tiny_training_audio, tiny_audio_dir, tmp_path
):
    codec, _ = tiny_models
    run = factories.write_codec_run(tmp_path / "run", codec, dataset_dir=tiny_audio_dir)
    library = Library(tmp_path / "lib")
    path = add_run(run, name="from run", library=library, tags=["drums"])
    assert path == library.bundles_dir / "from run"
    bundle = load_bundle(path)
    assert torch.equal(
        _decoded(bundle.codec, tiny_training_audio[2]), _decoded(codec, tiny_training_audio[2])
    )
    meta = bundle.meta
    assert meta["name"] == "from run" and meta["tags"] == ["drums"]
    files = {f["name"]: f for f in meta["dataset"]["files"]}
    assert sorted(files) == sorted(p.name for p in tiny_audio_dir.iterdir())
    assert all(len(f["sha256"]) == 64 and f["seconds"] == 0.5 for f in files.values())
    assert meta["dataset"]["seconds"] == 1.5
    assert meta["training"]["codec"]["global_step"] == 30
    assert meta["training"]["codec"]["metrics"] == {"best val/mel_distance": 1.25}
    assert (path / "preview.ogg").stat().st_size > 0
    assert not any("discriminator" in k for k in json.dumps(meta))
    assert library.get("from run").dataset_files


def test_export_with_prior_run_and_lineage(tiny_models, tiny_audio_dir, tmp_path, tiny_bundle):
    codec, prior = tiny_models
    codec_run = factories.write_codec_run(
        tmp_path / "codec_run",
        codec,
        dataset_dir=tiny_audio_dir,
        init_from={"source": str(tiny_bundle.path), "fingerprint": tiny_bundle.id},
    )
    prior_run = factories.write_prior_run(
        tmp_path / "prior_run", prior, codec_source=codec_run, codec_fingerprint=codec.fingerprint()
    )
    library = Library(tmp_path / "lib")
    path = add_run(codec_run, prior_run=prior_run, name="full", library=library, preview=False)
    bundle = load_bundle(path)
    assert bundle.has_prior and bundle.descriptor_stats == factories.DESCRIPTOR_STATS
    assert bundle.meta["lineage"]["parent_id"] == tiny_bundle.id
    assert bundle.meta["lineage"]["init_from"] == str(tiny_bundle.path)
    assert "prior" in bundle.meta["training"]
    # A prior run alone is enough: it names its codec.
    again = add_run(prior_run, name="from prior", library=library, preview=False)
    assert load_bundle(again).id == bundle.id


def test_runs_load_directly_without_export(tiny_models, tmp_path):
    codec, prior = tiny_models
    codec_run = factories.write_codec_run(tmp_path / "codec_run", codec)
    prior_run = factories.write_prior_run(
        tmp_path / "prior_run", prior, codec_source=codec_run, codec_fingerprint=codec.fingerprint()
    )
    assert load_bundle(codec_run).id == codec.fingerprint()
    from_prior = load_bundle(prior_run)
    assert from_prior.has_prior and from_prior.id == codec.fingerprint()
    assert load_bundle(codec_run / "checkpoints" / "last.ckpt").id == codec.fingerprint()


def test_prior_from_another_codec_is_refused(tiny_models, tmp_path):
    codec, prior = tiny_models
    codec_run = factories.write_codec_run(tmp_path / "codec_run", codec)
    prior_run = factories.write_prior_run(
        tmp_path / "prior_run", prior, codec_source=codec_run, codec_fingerprint="0123456789abcdef"
    )
    with pytest.raises(BundleError, match="trained on codec 0123456789abcdef"):
        load_bundle(prior_run)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / CODEC_FILE).unlink(), "missing"),
        (lambda p: (p / CODEC_FILE).write_bytes((p / CODEC_FILE).read_bytes()[:-100]), "truncated"),
        (lambda p: (p / CODEC_FILE).write_bytes(b""), "empty or truncated"),
        (
            lambda p: (p / CODEC_FILE).write_bytes((p / CODEC_FILE).read_bytes() + b"junk"),
            "trailing",
        ),
        (
            lambda p: (p / CODEC_FILE).write_bytes(
                b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"
            ),
            "damaged header",
        ),
        (lambda p: (p / CONFIG_FILE).write_text("{oops"), "not valid JSON"),
        (lambda p: (p / META_FILE).unlink(), "missing"),
        (lambda p: _edit_json(p / CONFIG_FILE, version=99), "newer sda"),
        (lambda p: _edit_json(p / CONFIG_FILE, format="zip"), "not an sda bundle"),
        (lambda p: _edit_codec(p, latent_dim=8), "do not match"),
        (lambda p: _edit_codec(p, unknown_setting=3), "unknown codec settings"),
        (lambda p: _edit_json(p / META_FILE, id="ffffffffffffffff"), "recorded id"),
    ],
    ids=[
        "missing-weights",
        "truncated",
        "empty",
        "trailing-bytes",
        "garbage-header",
        "config-not-json",
        "missing-meta",
        "newer-version",
        "wrong-format",
        "wrong-shapes",
        "unknown-setting",
        "tampered",
    ],
)
def test_damaged_bundles_give_a_clear_error(bundle_copy, damage, message):
    damage(bundle_copy)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy)


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def _edit_codec(folder: Path, **changes) -> None:
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["codec"].update(changes)
    (folder / CONFIG_FILE).write_text(json.dumps(data))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_pickle_renamed_codec_safetensors_is_never_unpickled(bundle_copy, tmp_path, writer):
    marker = tmp_path / "pwned"
    payload = {"weight": _Exploit(marker)}
    if writer == "pickle":
        (bundle_copy / CODEC_FILE).write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, bundle_copy / CODEC_FILE)
    with pytest.raises(BundleError, match="pickled PyTorch file"):
        load_bundle(bundle_copy)
    assert not marker.exists()


def test_a_checkpoint_with_code_in_it_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    torch.save(
        {"state_dict": {}, "hyper_parameters": {"codec": _Exploit(marker)}},
        tmp_path / "run" / "checkpoints" / "last.ckpt",
    )
    with pytest.raises(BundleError, match="refuses to unpickle"):
        load_bundle(tmp_path / "run")
    assert not marker.exists()


def test_truncated_checkpoint_and_non_runs(tiny_models, tmp_path):
    run = factories.write_codec_run(tmp_path / "run", tiny_models[0])
    ckpt = run / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(BundleError, match="truncated or not a PyTorch checkpoint"):
        load_bundle(run)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="neither a bundle"):
        load_bundle(tmp_path / "empty")
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nowhere")


@pytest.mark.slow
def test_real_smoke_training_runs_export_and_load(tmp_path, tiny_training_audio):
    """The contract with sda-train / sda-train-prior: their real checkpoints export and load."""
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    data = tmp_path / "data"
    factories.write_tiny_audio(data, count=4, seconds=1.0)
    outputs = tmp_path / "outputs"
    common = [f"paths.output_dir={outputs}", "logger=none", "callbacks.lr_monitor=null"]
    for command in (
        [bin_dir / "sda-train", "experiment=smoke", f"data.dir={data}", "name=codec", *common],
        [
            bin_dir / "sda-train-prior",
            "experiment=prior_smoke",
            f"codec={outputs / 'codec' / 'codec'}",
            "name=prior",
            *common,
        ],
    ):
        result = subprocess.run(
            [str(c) for c in command], capture_output=True, text=True, timeout=300, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-2000:]
    library = Library(tmp_path / "lib")
    path = add_run(
        outputs / "codec" / "codec",
        prior_run=outputs / "prior" / "prior",
        name="smoke",
        library=library,
    )
    bundle = load_bundle(path)
    direct = load_bundle(outputs / "prior" / "prior")  # a run loads straight away too
    assert bundle.has_prior and bundle.id == direct.id and bundle.descriptor_stats
    assert sorted(f["name"] for f in bundle.meta["dataset"]["files"]) == sorted(
        p.name for p in data.iterdir()
    )
    assert bundle.meta["training"]["codec"]["global_step"] == 10
    assert torch.equal(
        _decoded(bundle.codec, tiny_training_audio[0]),
        _decoded(direct.codec, tiny_training_audio[0]),
    )
