"""Grow a model: `sda-train init_from=<library name>` fine-tunes a library bundle's codec on more
audio, keeping its architecture and codebook, and the exported bundle records where it came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from sda.library import Library, UnknownBundleError, export_run, load_bundle
from sda.training.train_codec import compose_config, train


def _grow(tmp_path: Path, audio_dir: Path, source: str) -> Path:
    return train(
        compose_config(
            [
                "experiment=smoke",
                f"data.dir={audio_dir}",
                f"paths.output_dir={tmp_path / 'outputs'}",
                f"data.cache_dir={tmp_path / 'cache'}",
                f"init_from={source}",
                "trainer.max_steps=2",
                "name=grown",
            ]
        )
    )


def test_init_from_a_library_name_keeps_codebook_and_records_lineage(
    tmp_path, monkeypatch, tiny_library_root, tiny_audio_dir
):
    library_dir = tmp_path / "library"
    shutil.copytree(tiny_library_root, library_dir)
    monkeypatch.setenv("SDA_LIBRARY", str(library_dir))
    library = Library(library_dir)
    parent = library.load("tiny")

    run = _grow(tmp_path, tiny_audio_dir, "tiny")
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["codec"]["codebook_size"] == parent.codec.config.codebook_size
    assert saved["hyper_parameters"]["init_from"]["fingerprint"] == parent.id

    grown = load_bundle(export_run(run, name="tiny grown", library=library, preview=False))
    assert grown.meta["lineage"]["init_from"] == str(parent.path.resolve())
    assert grown.codec.config == parent.codec.config


def test_init_from_an_unknown_name_is_a_clear_error(tmp_path, monkeypatch, tiny_audio_dir):
    monkeypatch.setenv("SDA_LIBRARY", str(tmp_path / "empty-library"))
    with pytest.raises(UnknownBundleError, match="nope"):
        _grow(tmp_path, tiny_audio_dir, "nope")
