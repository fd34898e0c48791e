"""The Generate tab with a stereo model, called directly (no browser): stereo takes play, export
and widen their own side; the width's unit says so."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from sda.app import export_callbacks as export
from sda.app import generate_callbacks as gen
from sda.app.state import UserSession
from sda.audio.stereo_field import describe_model_width, describe_width, measure_width

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEREO = "tiny-stereo"


@pytest.fixture
def stereo_ctx(tiny_library_root, tiny_stereo_bundle, tmp_path):
    """An app context over a copy of the tiny library with the stereo model added."""
    from sda.app.state import AppContext
    from sda.library import Library

    library = Library(tmp_path / "library")
    shutil.copytree(tiny_library_root, library.root, dirs_exist_ok=True)
    library = Library(library.root)
    library.add(shutil.copytree(tiny_stereo_bundle.path, tmp_path / STEREO), move=True)
    return AppContext.create(library, work_dir=tmp_path / "work")


def test_a_stereo_models_take_plays_and_exports_as_stereo(stereo_ctx):
    session = UserSession()
    take = gen.generate_takes(stereo_ctx, session, STEREO, gen.GenerationSettings(seconds=0.4))[0]
    assert take.audio.shape == (2, take.samples) and take.seconds == pytest.approx(
        take.samples / take.sample_rate
    )
    assert take.settings["width"] == 0.5  # the model's own side, as generated
    preview, _ = soundfile.read(str(take.path), dtype="float32")
    np.testing.assert_array_equal(preview.T, take.audio)  # the decoder's samples, both channels
    path = export.export_source(stereo_ctx, session, str(take.number), export.ExportSettings())
    written, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    assert written.shape[1] == 2  # the mono layout keeps a stereo model's image
    flac = export.export_source(
        stereo_ctx, session, str(take.number), export.ExportSettings(format="flac")
    )
    assert soundfile.info(str(flac)).channels == 2


def test_width_scales_the_take_and_its_export_and_zero_mixes_down(stereo_ctx):
    session = UserSession()
    ratios = []
    for width in (0.25, 0.5):
        settings = gen.GenerationSettings(seconds=0.4, seed=5, width=width)
        take = gen.generate_takes(stereo_ctx, session, STEREO, settings)[0]
        preview, _ = soundfile.read(str(take.path), dtype="float64")
        path = export.export_source(stereo_ctx, session, str(take.number), export.ExportSettings())
        written, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
        assert measure_width(written.T) == pytest.approx(measure_width(preview.T), rel=0.05)
        ratios.append(measure_width(preview.T))
    assert ratios[0] < ratios[1]
    settings = gen.GenerationSettings(seconds=0.4, seed=5, width=0.0)
    take = gen.generate_takes(stereo_ctx, session, STEREO, settings)[0]
    path = export.export_source(stereo_ctx, session, str(take.number), export.ExportSettings())
    assert soundfile.info(str(path)).channels == 1  # width 0 is mono: the mono layout as asked
    assert "width" not in gen.take_rows(session)[0][-1]


def test_a_released_stereo_take_exports_from_disk_in_stereo(stereo_ctx):
    session = UserSession()
    take = gen.generate_takes(stereo_ctx, session, STEREO, gen.GenerationSettings(seconds=0.3))[0]
    kept = take.audio.copy()
    take.release()
    np.testing.assert_array_equal(take.load_audio(), kept)


def test_the_width_unit_follows_the_model(stereo_ctx):
    assert gen.is_stereo_model(stereo_ctx, STEREO) and not gen.is_stereo_model(
        stereo_ctx, "tiny-prior"
    )
    assert gen.width_label(stereo_ctx, STEREO, 1.0) == describe_model_width(1.0)
    assert "side of the model" in gen.width_label(stereo_ctx, STEREO, 1.0)
    assert gen.width_label(stereo_ctx, STEREO, None) == describe_model_width(0.5)
    assert gen.width_label(stereo_ctx, "tiny-prior", 0.5) == describe_width(0.5)
    assert gen.width_label(stereo_ctx, "no such model", 0.5) == describe_width(0.5)


def test_a_mono_models_take_is_unchanged_by_the_stereo_path(stereo_ctx):
    session = UserSession()
    take = gen.generate_takes(
        stereo_ctx, session, "tiny-prior", gen.GenerationSettings(seconds=0.3)
    )[0]
    assert take.audio.ndim == 1 and take.settings["width"] == 0.0
    path = export.export_source(stereo_ctx, session, str(take.number), export.ExportSettings())
    assert soundfile.info(str(path)).channels == 1
