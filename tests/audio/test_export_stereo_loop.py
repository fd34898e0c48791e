"""Exports with a stereo field (one meaning of width) and exports of loops (loop points, seams)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sda.audio.export import ExportError, export_audio
from sda.audio.export_settings import FORMATS, ExportSettings
from sda.audio.loop_points import LoopPoints, read_loop_points
from sda.audio.seam import measure_seam
from sda.audio.stereo_field import measure_width, side_to_mid_ratio

RATE = 48_000


def _loop(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Four plucks of noise that repeat exactly (each decays into the next, across the wrap too);
    the seam falls in a decay, where a loop cut by a musician would fall."""
    rng = np.random.default_rng(seed)
    samples = round(seconds * RATE)
    decay = np.exp(-np.arange(samples) / (0.05 * RATE))
    audio = np.zeros(samples)
    for pluck in range(4):
        burst = rng.standard_normal(samples) * decay
        audio += np.roll(burst, round((pluck + 0.5) * samples / 4))  # wraps: repeats exactly
    return (0.3 * audio / np.abs(audio).max()).astype(np.float32)


def test_width_is_the_side_to_mid_ratio_of_the_written_file(tmp_path):
    mono = _loop()
    measured = []
    for index, width in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        path = export_audio(mono, tmp_path / f"w{index}.wav", bit_depth=32, width=width)
        back, _ = sf.read(path, dtype="float64")
        if width == 0.0:  # width 0 and no movement: the mono layout stays mono
            assert back.ndim == 1
            measured.append(0.0)
            continue
        assert back.shape == (len(mono), 2)  # a width makes the default mono layout stereo
        measured.append(measure_width(back.T))
        assert measured[-1] == pytest.approx(side_to_mid_ratio(width), rel=0.05)
    assert np.all(np.diff(measured) > 0)


def test_stereo_without_a_width_uses_the_stereo_default_and_movement_alone_is_stereo(tmp_path):
    mono = _loop()
    plain = export_audio(mono, tmp_path / "s.wav", bit_depth=32, channels="stereo")
    back, _ = sf.read(plain, dtype="float64")
    assert measure_width(back.T) == pytest.approx(side_to_mid_ratio(0.5), rel=0.05)
    moving = export_audio(mono, tmp_path / "m.wav", bit_depth=32, movement=1.0)
    assert sf.info(moving).channels == 2
    assert ExportSettings(movement=0.5).channels == "stereo"
    assert ExportSettings(width=0.0).channels == "mono"


@pytest.mark.parametrize(
    ("fmt", "rate"), [("wav", 44_100), ("flac", 48_000), ("ogg", 48_000), ("mp3", 44_100)]
)
def test_a_loop_export_carries_its_loop_points_and_still_loops(tmp_path, fmt, rate):
    exact = 60 / 97 * 2  # two beats at 97 bpm: not a whole number of samples at either rate
    mono = _loop(seconds=round(exact * RATE) / RATE, seed=1)
    path = export_audio(
        mono, tmp_path / "loop", format=fmt, sample_rate=rate, width=0.5, movement=0.5,
        loop_seconds=exact,
    )  # fmt: skip
    samples = round(exact * rate)
    assert read_loop_points(path) == LoopPoints(0, samples)
    back, _ = sf.read(path, dtype="float64")
    assert back.shape[1] == 2
    if FORMATS[fmt].lossless:  # lossy codecs pad to whole frames; the loop points say where it ends
        assert len(back) == samples
        assert measure_seam(back.T, rate).passed


def test_a_plain_export_has_no_loop_points(tmp_path):
    path = export_audio(_loop(), tmp_path / "plain.wav")
    assert read_loop_points(path) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 1.5}, "Stereo width 1.5 is out of range"),
        ({"movement": -0.1}, "Stereo movement -0.1 is out of range"),
        ({"width": float("nan")}, "Stereo width nan is out of range"),
        ({"loop_seconds": 0.0}, "Loop length 0.0 s"),
        ({"loop_seconds": float("inf")}, "Loop length inf s"),
    ],
)
def test_bad_stereo_or_loop_settings_leave_nothing(tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_audio(_loop(), tmp_path / "x.wav", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_binaural_loop_wraps_its_room_tail_into_its_start(tmp_path):
    from sda.audio.spatial import binaural

    mono = _loop(0.5)
    path = export_audio(
        mono, tmp_path / "loop.wav", bit_depth=32, channels="binaural", azimuth=70.0,
        loop_seconds=0.5,
    )  # fmt: skip
    back, _ = sf.read(path, dtype="float64", always_2d=True)
    steady = binaural(np.tile(mono, 2).astype(np.float64), RATE, azimuth=70.0)[:, len(mono) :]
    assert np.allclose(back.T, steady, atol=1e-6)  # as if it had been playing all along
    assert measure_seam(back.T, RATE).passed
