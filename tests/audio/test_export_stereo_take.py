"""A stereo take (two real channels, e.g. decoded from mid and side grids) exports as it is to
every format, and to binaural as a virtual speaker pair at -/+30 degrees."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sda.audio import spatial
from sda.audio.export import FORMATS, export_audio
from sda.audio.mono_compat import mono_compatibility

RATE = 48_000
LEFT_HZ, RIGHT_HZ = 440.0, 1250.0


def _take(seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.stack([0.4 * np.sin(2 * np.pi * LEFT_HZ * t), 0.3 * np.sin(2 * np.pi * RIGHT_HZ * t)])


def _level_at(channel: np.ndarray, freq: float) -> float:
    """Amplitude of `freq` in the middle half of a channel (a single-bin DFT)."""
    middle = channel[len(channel) // 4 : 3 * len(channel) // 4]
    t = np.arange(len(middle)) / RATE
    return float(2 * np.abs(np.mean(middle * np.exp(-2j * np.pi * freq * t))))


COMBOS = [(name, depth) for name, spec in FORMATS.items() for depth in spec.subtypes]


@pytest.mark.parametrize(("fmt", "depth"), COMBOS, ids=lambda v: str(v))
def test_a_stereo_take_exports_as_it_is_to_every_format(tmp_path, fmt, depth):
    take = _take()
    path = export_audio(take, tmp_path / "wide", format=fmt, bit_depth=depth, channels="stereo")
    assert sf.info(path).channels == 2
    back = sf.read(path, dtype="float64", always_2d=True)[0].T  # (2, samples)
    # each channel keeps its own sound at its own level: not swapped, not widened, not mixed
    assert _level_at(back[0], LEFT_HZ) == pytest.approx(0.4, abs=0.03)
    assert _level_at(back[1], RIGHT_HZ) == pytest.approx(0.3, abs=0.03)
    assert _level_at(back[0], RIGHT_HZ) < 0.01 and _level_at(back[1], LEFT_HZ) < 0.01
    if FORMATS[fmt].lossless:
        assert back.shape == take.shape
        np.testing.assert_allclose(back, take, atol=2.0 ** -(depth or 24) * 4)
        figure = mono_compatibility(back)
        assert figure.downmix_db == pytest.approx(mono_compatibility(take).downmix_db, abs=0.01)


def test_binaural_from_a_stereo_take_is_a_speaker_pair_at_30_degrees(tmp_path):
    take = _take()
    path = export_audio(take, tmp_path / "b.wav", channels="binaural", bit_depth=32)
    back = sf.read(path, dtype="float64", always_2d=True)[0].T
    hrtf = spatial.load_hrtf()
    expected = spatial.binaural(take[0], RATE, azimuth=-30.0, hrtf=hrtf) + spatial.binaural(
        take[1], RATE, azimuth=30.0, hrtf=hrtf
    )
    np.testing.assert_allclose(back, expected, atol=1e-6)
    # the left speaker's tone reaches the left ear louder, the right one's the right ear
    assert _level_at(back[0], LEFT_HZ) > _level_at(back[1], LEFT_HZ)  # low: little head shadow
    assert _level_at(back[1], RIGHT_HZ) > 1.2 * _level_at(back[0], RIGHT_HZ)
