"""Shared fixtures: synthesized audio, and a tiny REAL trained codec (+ prior) saved as bundles.

The session fixtures are built once per test run (a few seconds on one CPU core) and are
read-only: copy a bundle folder before changing it. Builders live in tests/factories.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `import factories` from any test folder

import factories  # noqa: E402


@pytest.fixture
def tiny_audio_dir(tmp_path: Path) -> Path:
    """A folder with three short synthesized wav files (pluck, drone, noise; 0.5 s, 48 kHz mono)."""
    folder = tmp_path / "audio"
    factories.write_tiny_audio(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_training_audio() -> list:
    """The synthesized sounds the tiny models learned from: list of (samples,) float32 arrays."""
    kinds = ("pluck", "drone", "noise", "pluck", "drone", "noise")
    return [factories.synth_sound(kind, seconds=0.5, seed=i) for i, kind in enumerate(kinds)]


@pytest.fixture(scope="session")
def tiny_models(tiny_training_audio):
    """(codec, prior): trained for a few dozen steps; shared, do not train them further."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only add overhead, worst on a busy machine
    try:
        codec = factories.train_tiny_codec(tiny_training_audio)
        prior = factories.train_tiny_prior(codec, tiny_training_audio)
    finally:
        torch.set_num_threads(threads)
    return codec, prior


@pytest.fixture(scope="session")
def tiny_library_root(tmp_path_factory, tiny_models) -> Path:
    """A model library holding "tiny" (codec only) and "tiny-prior" (codec + prior). Read-only."""
    from sda.library import Library, save_bundle

    codec, prior = tiny_models
    staging = tmp_path_factory.mktemp("tiny_bundles")
    library = Library(tmp_path_factory.mktemp("tiny_library"))
    meta = {
        "dataset": {
            "files": [{"name": "pluck_0.wav", "sha256": None, "seconds": 0.5}],
            "count": 1,
            "seconds": 0.5,
        }
    }
    library.add(save_bundle(staging / "tiny", codec=codec, meta=meta), tags=["test"], move=True)
    with_prior = save_bundle(
        staging / "tiny-prior",
        codec=codec,
        prior=prior,
        meta={**meta, "descriptor_stats": factories.DESCRIPTOR_STATS},
    )
    library.add(with_prior, tags=["test"], move=True)
    return library.root


@pytest.fixture(scope="session")
def tiny_bundle(tiny_library_root):
    """The tiny codec-only `Bundle`, loaded from the session library (its .path is inside it)."""
    from sda.library import Library

    return Library(tiny_library_root).load("tiny")


@pytest.fixture(scope="session")
def tiny_prior_bundle(tiny_library_root):
    """The tiny codec + prior `Bundle` (prior trained on the tiny codec's codes)."""
    from sda.library import Library

    return Library(tiny_library_root).load("tiny-prior")


@pytest.fixture(scope="session")
def tiny_stereo_bundle(tmp_path_factory, tiny_models):
    """A stereo `Bundle` (channels 2, 2 side levels) with the tiny codec's weights and a tiny
    prior over its stacked mid + side grids of synthesized stereo sounds. Read-only."""
    import torch

    from sda.library import load_bundle, save_bundle

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        codec = factories.stereo_twin(tiny_models[0])
        audio = [factories.synth_stereo(0.5, seed=i, width=0.3 * (i % 3)) for i in range(4)]
        prior = factories.train_tiny_stereo_prior(codec, audio)
    finally:
        torch.set_num_threads(threads)
    folder = save_bundle(
        tmp_path_factory.mktemp("stereo") / "tiny-stereo",
        codec=codec,
        prior=prior,
        meta={"descriptor_stats": factories.DESCRIPTOR_STATS},
    )
    return load_bundle(folder)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Sampling is many tiny steps: one thread avoids spin-waiting on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def ctx(tiny_library_root, tmp_path):
    """An app context over the shared, read-only tiny library (files go to tmp_path)."""
    from sda.app.state import AppContext
    from sda.library import Library

    return AppContext.create(Library(tiny_library_root), work_dir=tmp_path / "work")


@pytest.fixture
def writable_ctx(tiny_library_root, tmp_path):
    """An app context over a private copy of the tiny library, for renames, tags and presets."""
    import shutil

    from sda.app.state import AppContext
    from sda.library import Library

    root = tmp_path / "library"
    shutil.copytree(tiny_library_root, root)
    return AppContext.create(Library(root), work_dir=tmp_path / "work")
