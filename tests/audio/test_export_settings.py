"""`ExportSettings`: one set of export limits, the same words from `export_audio` and the app."""

import dataclasses

import numpy as np
import pytest

from sda.audio.export import export_audio
from sda.audio.export_settings import ExportError, ExportSettings


def test_defaults_and_normalising():
    assert ExportSettings().bit_depth == 24 and ExportSettings().subtype == "PCM_24"
    assert ExportSettings(format=".FLAC", bit_depth=16).format == "flac"
    assert ExportSettings(format="mp3").bit_depth is None
    assert ExportSettings(bit_depth=32).subtype == "FLOAT"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ExportSettings().format = "ogg"  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "aac"},
        {"format": "opus", "sample_rate": 44_100},
        {"format": "wav", "bit_depth": 8},
        {"format": "ogg", "bit_depth": 16},
        {"channels": "5.1"},
        {"azimuth": 270.0},
        {"lufs": -75.0},
    ],
)
def test_export_audio_refuses_with_the_settings_words(tmp_path, changes):
    with pytest.raises(ExportError) as by_settings:
        ExportSettings(**changes)
    with pytest.raises(ExportError) as by_export:
        export_audio(np.zeros(480), tmp_path / "x", **changes)
    assert str(by_export.value) == str(by_settings.value)
    assert not list(tmp_path.iterdir())
