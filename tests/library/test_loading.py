"""`open_model`: the one way from what a musician typed (a library name, a bundle folder, a run or
a checkpoint) to a loaded model, with a useful error for everything else."""

from __future__ import annotations

import shutil

import factories
import pytest

from sda.library import BundleError, Library, UnknownBundleError, open_model, resolve_bundle
from sda.library.loading import load_bundle


@pytest.fixture
def library(tmp_path, tiny_bundle) -> Library:
    library = Library(tmp_path / "lib")
    library.add(tiny_bundle.path, name="drums")
    return library


def test_a_name_a_bundle_folder_a_run_and_a_checkpoint_open_the_same_codec(
    library, tiny_bundle, tiny_models, tmp_path
):
    run = factories.write_codec_run(tmp_path / "run", tiny_models[0])
    for ref in (
        "drums",
        "DRUMS",  # names ignore case
        library.bundles_dir / "drums",
        str(tiny_bundle.path),
        run,
        run / "checkpoints" / "last.ckpt",
    ):
        assert open_model(ref, library).id == tiny_bundle.id, ref


def test_a_bare_word_is_a_library_name_first_then_a_folder_here(
    library, tiny_bundle, tmp_path, monkeypatch
):
    shutil.copytree(tiny_bundle.path, tmp_path / "pads")
    monkeypatch.chdir(tmp_path)
    assert open_model("pads", library).path.name == "pads"  # not in the library: the folder
    shutil.copytree(tiny_bundle.path, tmp_path / "drums")
    assert open_model("drums", library).path == library.bundles_dir / "drums"


def test_unknown_names_suggest_and_an_empty_library_says_how_to_add(library, tmp_path):
    with pytest.raises(UnknownBundleError, match='Did you mean "drums"'):
        open_model("drum", library)
    with pytest.raises(UnknownBundleError, match="empty: add one with `sda library add RUN"):
        open_model("drums", Library(tmp_path / "empty"))


def test_paths_that_are_not_models_are_explained(tmp_path):
    (tmp_path / "kit.zip").write_bytes(b"PK")
    with pytest.raises(
        BundleError, match="is a zip archive; add it first with `sda library import"
    ):
        load_bundle(tmp_path / "kit.zip")
    with pytest.raises(BundleError, match="does not exist"):
        open_model(tmp_path / "nowhere")
    (tmp_path / "folder").mkdir()
    with pytest.raises(BundleError, match="neither a bundle"):
        open_model(str(tmp_path / "folder"))


def test_the_old_name_is_the_same_function():
    assert resolve_bundle is open_model


def test_every_error_the_library_raises_to_a_user_shares_one_root():
    from sda.library import ArchiveError, DiskFullError, InvalidNameError, LibraryError
    from sda.library.errors import LibraryBusyError
    from sda.library.index import IndexVersionError

    for error in (
        BundleError,
        ArchiveError,
        DiskFullError,
        InvalidNameError,
        UnknownBundleError,
        LibraryBusyError,
        IndexVersionError,
    ):
        assert issubclass(error, LibraryError), error
