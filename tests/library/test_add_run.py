"""Adding training runs to the library (`sda.library.add_run`, `sda library add`): runs given in
the wrong order, names already taken, and the lineage of a model grown from a library bundle."""

from __future__ import annotations

import factories
import pytest

import sda.library
from sda.library import BundleError, Library, LibraryError, add_run


@pytest.fixture
def runs(tmp_path, tiny_models):
    codec, prior = tiny_models
    codec_run = factories.write_codec_run(tmp_path / "codec_run", codec)
    prior_run = factories.write_prior_run(
        tmp_path / "prior_run", prior, codec_source=codec_run, codec_fingerprint=codec.fingerprint()
    )
    return codec_run, prior_run


def test_runs_given_the_wrong_way_round_are_explained(runs, tmp_path):
    codec_run, prior_run = runs
    library = Library(tmp_path / "lib")
    with pytest.raises(BundleError, match="is a prior run; give the codec run first"):
        add_run(prior_run, prior_run=prior_run, name="x", library=library, preview=False)
    with pytest.raises(BundleError, match="is a codec run, not a prior run"):
        add_run(codec_run, prior_run=codec_run, name="x", library=library, preview=False)
    assert library.names() == []


def test_a_taken_name_is_refused_before_any_run_is_read(runs, tmp_path, tiny_bundle):
    library = Library(tmp_path / "lib")
    library.add(tiny_bundle.path, name="My Kit")
    with pytest.raises(LibraryError, match='"my kit" is already in the library'):
        add_run(tmp_path / "not a run at all", name="my kit", library=library)
    assert library.names() == ["My Kit"]


def test_lineage_follows_a_library_parent_and_its_own_parent(runs, tmp_path, tiny_models):
    codec_run, _ = runs
    library = Library(tmp_path / "lib")
    first = add_run(codec_run, name="first", library=library, preview=False)
    grown_run = factories.write_codec_run(
        tmp_path / "grown_run", tiny_models[0], init_from={"source": "first"}
    )
    add_run(grown_run, name="second", library=library, preview=False)
    twice_run = factories.write_codec_run(
        tmp_path / "twice_run", tiny_models[0], init_from={"source": "second", "fingerprint": "f"}
    )
    meta = library.load(add_run(twice_run, name="third", library=library, preview=False).name).meta
    lineage = meta["lineage"]
    assert lineage["init_from"] == "second" and lineage["parent_name"] == "second"
    assert lineage["parent_id"] == "f"  # the fingerprint the run recorded wins
    assert lineage["parent_lineage"]["parent_name"] == "first"
    assert lineage["parent_lineage"]["parent_id"] == library.get("first").id
    assert library.load("first").meta["lineage"] is None
    assert first == library.bundles_dir / "first"


def test_the_old_name_is_the_same_function():
    assert sda.library.export_run is add_run
