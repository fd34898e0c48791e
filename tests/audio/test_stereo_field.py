"""Stereo width and movement: mono-compatible, width follows its setting, movement moves."""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from sda.audio.seam import measure_seam
from sda.audio.spatial import SpatialError
from sda.audio.stereo_field import (
    describe_movement,
    describe_width,
    level_difference_db,
    measure_width,
    pan_depth_db,
    side_to_mid_ratio,
    stereo_field,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
import factories  # noqa: E402

RATE = 48_000
SETTINGS = np.linspace(0.0, 1.0, 11)


def _sounds() -> dict[str, np.ndarray]:
    return {
        kind: factories.synth_sound(kind, seconds=1.0, seed=3).astype(np.float64)
        for kind in ("pluck", "drone", "noise")
    }


@pytest.mark.parametrize("width, movement", [(0.0, 0.0), (0.5, 0.0), (1.0, 1.0), (0.3, 0.7)])
def test_the_downmix_is_the_take(width, movement):
    for mono in _sounds().values():
        stereo = stereo_field(mono, RATE, width=width, movement=movement)
        assert stereo.shape == (2, len(mono)) and stereo.dtype == np.float32
        peak = float(np.max(np.abs(stereo)))
        gain = 1.0 if peak < 1.0 - 1e-6 else np.dot(stereo.mean(axis=0), mono) / np.dot(mono, mono)
        assert 0.5 < gain <= 1.0 and peak <= 1.0 + 1e-6  # turned down together, never clipped
        np.testing.assert_allclose(stereo.mean(axis=0), gain * mono, atol=1e-6)


def test_width_zero_and_no_movement_is_mono():
    mono = _sounds()["pluck"]
    stereo = stereo_field(mono, RATE)
    np.testing.assert_array_equal(stereo[0], stereo[1])
    assert measure_width(stereo) == 0.0 and describe_width(0.0) == "mono"


def test_measured_width_follows_the_setting():
    for kind, mono in _sounds().items():
        measured = [measure_width(stereo_field(mono, RATE, width=w)) for w in SETTINGS]
        assert np.all(np.diff(measured) > 0), kind
        assert spearmanr(SETTINGS, measured).statistic >= 0.95
        wanted = [side_to_mid_ratio(w) for w in SETTINGS]
        np.testing.assert_allclose(measured, wanted, rtol=0.02, atol=1e-6, err_msg=kind)
    assert "correlation 0.50" in describe_width(0.5)


def test_full_width_leaves_left_and_right_unrelated():
    stereo = stereo_field(_sounds()["noise"], RATE, width=1.0)
    assert abs(np.corrcoef(stereo)[0, 1]) < 0.05


def _swing_db(mono, width, movement) -> float:
    """Range of the L/R level difference over the take (dB)."""
    stereo = stereo_field(mono, RATE, width=width, movement=movement)
    return float(np.ptp(level_difference_db(stereo, RATE)))


def test_movement_moves_the_image():
    mono = factories.synth_sound("drone", seconds=4.0, seed=1).astype(np.float64)
    assert _swing_db(mono, 0.0, 0.0) == 0.0
    assert _swing_db(mono, 0.0, 1.0) == pytest.approx(2 * pan_depth_db(1.0), rel=0.05)
    wide = [_swing_db(mono, 0.5, movement) for movement in (0.0, 0.5, 1.0)]
    assert wide[0] + 3.0 < wide[1] < wide[2]  # a wide static image barely moves
    assert describe_movement(0.0) == "static" and "9.5 dB" in describe_movement(1.0)


def test_a_loop_stays_a_loop_in_stereo():
    samples = RATE // 2
    rng = np.random.default_rng(0)
    spectrum = np.zeros(samples // 2 + 1, dtype=complex)
    spectrum[1:3000] = rng.standard_normal(2999) + 1j * rng.standard_normal(2999)
    loop = np.fft.irfft(spectrum, samples)
    loop *= 0.3 / np.max(np.abs(loop))  # repeats exactly: whole-period sinusoids
    looped = stereo_field(loop, RATE, width=1.0, movement=1.0, loop=True)
    assert measure_seam(looped, RATE).passed
    # the side signal wraps: the loop played twice equals the stereo field of both plays
    twice = stereo_field(np.tile(loop, 3), RATE, width=1.0, loop=True)[:, samples : 2 * samples]
    once = stereo_field(loop, RATE, width=1.0, loop=True)
    np.testing.assert_allclose(once, twice, atol=1e-4)


def test_loud_takes_are_turned_down_together_not_clipped():
    mono = np.clip(4 * _sounds()["noise"], -0.99, 0.99)
    stereo = stereo_field(mono, RATE, width=1.0, movement=1.0)
    assert np.max(np.abs(stereo)) <= 1.0 + 1e-6
    downmix = stereo.mean(axis=0)
    gain = np.dot(downmix, mono) / np.dot(mono, mono)
    assert gain < 1.0
    np.testing.assert_allclose(downmix, gain * mono, atol=1e-6)


def test_bass_alone_is_not_blown_up():
    bass = 0.5 * np.sin(2 * np.pi * 50 * np.arange(RATE) / RATE)
    stereo = stereo_field(bass, RATE, width=1.0)
    assert np.isfinite(stereo).all() and measure_width(stereo) < 0.5


@pytest.mark.parametrize(
    "name, value",
    [("width", 1.5), ("width", float("nan")), ("movement", -0.1), ("movement", "a lot")],
)
def test_settings_out_of_range_are_refused(name, value):
    with pytest.raises(SpatialError, match=f"Stereo {name}"):
        stereo_field(np.zeros(100), RATE, **{name: value})


def test_stereo_input_is_refused():
    with pytest.raises(SpatialError, match="mono take"):
        stereo_field(np.zeros((2, 100)), RATE, width=0.5)
