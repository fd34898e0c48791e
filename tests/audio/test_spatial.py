"""Stereo widening and pan, HRTF loading, binaural rendering (static and moving)."""

from __future__ import annotations

import numpy as np
import pytest
import sofar
from scipy import signal

from sda.audio.spatial import (
    SpatialError,
    azimuth_to_pan,
    binaural,
    load_hrtf,
    pan,
    stereo_to_binaural,
)
from sda.audio.stereo_field import stereo_field

RATE = 48_000


def _noise(seconds=1.0, seed=0):
    return np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 0.1


def _itd_ms(stereo: np.ndarray) -> float:
    """Positive when the LEFT ear lags (the sound reached the right ear first)."""
    up = 8
    left, right = (signal.resample_poly(ch, up, 1) for ch in stereo)
    corr = signal.correlate(left, right, mode="full", method="fft")
    lag = np.argmax(corr) - (len(right) - 1)
    return 1000 * lag / (up * RATE)


# --- binaural ------------------------------------------------------------------------------------


def test_source_at_plus_90_is_on_the_right():
    """Convention: azimuth +90 = the listener's RIGHT (SOFA's +90 is the left; load_hrtf flips it)."""
    out = binaural(_noise(), RATE, azimuth=90.0)
    assert out.shape == (2, RATE)
    assert 0.5 <= _itd_ms(out) <= 0.8
    level_left, level_right = (10 * np.log10(np.mean(ch**2)) for ch in out)
    assert level_right > level_left + 6
    impulse = np.zeros(512)
    impulse[0] = 1.0
    ir = binaural(impulse, RATE, azimuth=90.0)
    onset = np.argmax(np.abs(ir) > 0.1 * np.abs(ir).max(axis=-1, keepdims=True), axis=-1)
    assert onset[1] < onset[0]  # right ear first


def test_minus_90_mirrors_and_front_is_balanced():
    out = binaural(_noise(), RATE, azimuth=-90.0)
    assert -0.8 <= _itd_ms(out) <= -0.5
    front = binaural(_noise(), RATE, azimuth=0.0)
    assert abs(_itd_ms(front)) < 0.03
    np.testing.assert_allclose(front[0], front[1], atol=1e-6)


def test_interpolated_direction_lies_between_measurements():
    itds = [_itd_ms(binaural(_noise(0.3), RATE, azimuth=a)) for a in (40.0, 45.0, 50.0)]
    assert itds[0] < itds[1] < itds[2]
    hrtf = load_hrtf()
    np.testing.assert_array_equal(hrtf.hrir(41.0, interpolate=False), hrtf.hrir(40.0))
    assert not np.allclose(hrtf.hrir(41.0), hrtf.hrir(40.0))


def test_moving_source_crosses_from_left_to_right_without_clicks():
    x = _noise(2.0)
    constant = binaural(x, RATE, path=[(0.0, 90.0, 0.0), (2.0, 90.0, 0.0)])
    np.testing.assert_allclose(constant, binaural(x, RATE, azimuth=90.0), atol=1e-9)
    moving = binaural(x, RATE, path=[(0.0, -90.0, 0.0), (2.0, 90.0, 0.0)])
    first, last = moving[:, : RATE // 4], moving[:, -RATE // 4 :]
    assert np.mean(first[0] ** 2) > 4 * np.mean(first[1] ** 2)
    assert np.mean(last[1] ** 2) > 4 * np.mean(last[0] ** 2)
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(2 * RATE) / RATE)
    swept = binaural(tone, RATE, path=[(0.0, 0.0, 0.0), (2.0, 350.0, 30.0)])
    # a click would show up as a sample-to-sample jump far above a 300 Hz tone's slope
    assert np.max(np.abs(np.diff(swept, axis=-1))) < 0.2


def test_stereo_input_becomes_two_virtual_speakers():
    left_only = np.stack([_noise(), np.zeros(RATE)])
    out = stereo_to_binaural(left_only, RATE)
    assert _itd_ms(out) < -0.1 and np.mean(out[0] ** 2) > np.mean(out[1] ** 2)


def test_hrtf_is_resampled_for_other_rates():
    out = binaural(np.random.default_rng(0).standard_normal(44_100), 44_100, azimuth=90.0)
    assert out.shape == (2, 44_100) and np.mean(out[1] ** 2) > np.mean(out[0] ** 2)


# --- SOFA files ----------------------------------------------------------------------------------


def _write_sofa(path, *, swap_ears=False, cartesian=False, delay=0):
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    irs = np.zeros((2, 2, 32))
    irs[0, 0, 0] = irs[0, 1, 10] = 1.0  # SOFA az +90 (left): receiver 0 (left) first
    irs[1, 0, 0] = irs[1, 1, 0] = 1.0  # front
    sofa.Data_IR = irs[:, ::-1] if swap_ears else irs
    sofa.SourcePosition = np.array([[90.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    if cartesian:
        sofa.SourcePosition = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
    if swap_ears:
        sofa.ReceiverPosition = np.array([[0, -0.09, 0], [0, 0.09, 0]])
    sofa.Data_Delay = np.array([[delay, delay]])
    sofar.write_sofa(str(path), sofa)
    return path


@pytest.mark.parametrize("variant", [{}, {"swap_ears": True}, {"cartesian": True}, {"delay": 3}])
def test_any_simple_free_field_sofa_is_read_in_our_convention(tmp_path, variant):
    hrtf = load_hrtf(_write_sofa(tmp_path / "set.sofa", **variant))
    ir = hrtf.hrir(-90.0, 0.0)  # ours: -90 = left = SOFA +90
    assert np.argmax(np.abs(ir[0])) < np.argmax(np.abs(ir[1]))
    assert np.argmax(np.abs(ir[0])) == variant.get("delay", 0)


def test_sofa_with_other_suffix_is_read(tmp_path):
    path = _write_sofa(tmp_path / "set.sofa")
    renamed = path.rename(tmp_path / "set.hrtf")
    assert load_hrtf(renamed).irs.shape == (2, 2, 32)


def test_not_a_sofa_file_gives_one_clear_error(tmp_path):
    bogus = tmp_path / "bogus.sofa"
    bogus.write_text("hello")
    with pytest.raises(SpatialError, match="not a readable SOFA file"):
        load_hrtf(bogus)
    with pytest.raises(SpatialError, match="does not exist"):
        load_hrtf(tmp_path / "missing.sofa")


def test_unsupported_convention_is_refused(tmp_path):
    sofa = sofar.Sofa("GeneralFIR")
    sofa.Data_Delay = np.zeros((1, 2))
    sofa.Data_IR = np.zeros((1, 2, 8))
    path = tmp_path / "general.sofa"
    sofar.write_sofa(str(path), sofa)
    with pytest.raises(SpatialError, match="GeneralFIR"):
        load_hrtf(path)


# --- stereo --------------------------------------------------------------------------------------


def widen(mono, width):
    """The one widening (stereo_field's width: side/mid = width / (2 - width))."""
    return stereo_field(mono, RATE, width=width).astype(np.float64)


def test_widening_is_mono_compatible():
    x = _noise()
    for width in (0.0, 0.5, 1.0):
        stereo = widen(x, width=width)
        np.testing.assert_allclose(stereo.mean(axis=0), x, atol=1e-6)
    np.testing.assert_allclose(widen(x, width=0.0)[0], widen(x, width=0.0)[1])
    assert abs(np.corrcoef(widen(x, width=1.0))[0, 1]) < 0.3
    # the side is high-passed: under a bright sound, the bass stays centred
    bass = 0.3 * np.sin(2 * np.pi * 50 * np.arange(RATE) / RATE)
    stereo = widen(bass + x, width=1.0)
    side = np.diff(stereo, axis=0)[0] / 2
    low = signal.sosfiltfilt(signal.butter(4, 100, fs=RATE, output="sos"), side[RATE // 2 :])
    assert np.sqrt(np.mean(low**2)) < 0.1 * np.sqrt(np.mean(bass**2))


def test_constant_power_pan():
    x = np.ones((2, 10))
    for position in np.linspace(-1, 1, 9):
        gains = pan(x, position)[:, 0]
        assert np.sum(gains**2) == pytest.approx(2.0)
    np.testing.assert_allclose(pan(x, 0.0), x)
    assert pan(x, 1.0)[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert azimuth_to_pan(90.0) == pytest.approx(1.0) and azimuth_to_pan(-90.0) == pytest.approx(
        -1.0
    )


def test_out_of_range_settings_are_refused():
    with pytest.raises(SpatialError, match="width"):
        widen(_noise(0.1), width=2.0)
    with pytest.raises(SpatialError, match="Pan"):
        pan(np.ones((2, 4)), 1.5)
    with pytest.raises(SpatialError, match="keyframes"):
        binaural(_noise(0.1), RATE, path=[(1.0, 0.0, 0.0), (0.0, 90.0, 0.0)])


def test_a_circular_render_is_the_steady_state_of_the_loop_played_over_and_over():
    loop = _noise(0.3)[: 12 * 1024]  # a whole number of blocks, so a path's blocks line up
    n = len(loop)
    tiled = np.tile(loop, 3)
    still = binaural(loop, RATE, azimuth=60.0, circular=True)
    assert np.allclose(still, binaural(tiled, RATE, azimuth=60.0)[:, n : 2 * n], atol=1e-9)
    path = [(0.0, 90.0, 0.0), (60.0, 90.0, 0.0)]
    moving = binaural(loop, RATE, path=path, circular=True)
    assert np.allclose(moving, binaural(tiled, RATE, path=path)[:, n : 2 * n], atol=1e-9)
    plain = binaural(loop, RATE, azimuth=60.0)  # starts from silence: its start differs
    assert not np.allclose(plain[:, :64], still[:, :64], atol=1e-6)
    pair = stereo_to_binaural(np.stack([loop, loop[::-1]]), RATE, circular=True)
    assert pair.shape == (2, n)
