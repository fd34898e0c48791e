"""A loop resampled to another rate still loops, at the length asked for and the same pitch."""

import numpy as np
import pytest

from sda.audio.dsp import resample
from sda.audio.loop_resample import LoopResampleError, loop_samples_at, resample_loop
from sda.audio.seam import measure_seam


def _tone_loop(rate: int = 48_000, cycles: int = 250, samples: int = 24_000) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * cycles * np.arange(samples) / samples)).astype(np.float32)


def test_a_resampled_loop_still_loops_at_the_same_pitch():
    loop = _tone_loop()  # 500 Hz, 0.5 s
    out = resample_loop(loop, 48_000, 44_100)
    assert out.shape == (loop_samples_at(24_000, 48_000, 44_100),) == (22_050,)
    assert out.dtype == np.float32 and measure_seam(out, 44_100).passed
    peak_bin = int(np.argmax(np.abs(np.fft.rfft(out))))
    assert peak_bin * 44_100 / len(out) == pytest.approx(500.0)


def test_stereo_and_tempo_fitted_lengths():
    stereo = np.stack([_tone_loop(), -_tone_loop()])
    out = resample_loop(stereo, 48_000, 96_000, samples=48_001)
    assert out.shape == (2, 48_001) and measure_seam(out, 96_000).passed
    np.testing.assert_allclose(resample_loop(stereo, 48_000, 48_000), stereo)


def test_an_ordinary_resampler_would_click_where_this_one_does_not():
    loop = _tone_loop(cycles=251)  # seamless at 48 kHz
    assert measure_seam(loop, 48_000).passed
    assert not measure_seam(resample(loop, 48_000, 44_100), 44_100).passed
    assert measure_seam(resample_loop(loop, 48_000, 44_100), 44_100).passed


def test_impossible_requests_are_refused():
    with pytest.raises(LoopResampleError, match="positive"):
        resample_loop(_tone_loop(), 0, 44_100)
    with pytest.raises(LoopResampleError, match="at least one sample"):
        resample_loop(_tone_loop(), 48_000, 44_100, samples=0)
