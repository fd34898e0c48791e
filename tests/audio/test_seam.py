"""The seam measure: seamless loops pass, clicks and sudden changes of sound at the seam fail."""

import numpy as np
import pytest

from sda.audio.seam import flux_at, flux_between, flux_every, measure_seam, uniform_gain

RATE = 48_000


def _periodic_noise(seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    """Band-limited noise that repeats exactly: built from whole-period sinusoids."""
    samples = int(seconds * RATE)
    rng = np.random.default_rng(seed)
    spectrum = np.zeros(samples // 2 + 1, dtype=complex)
    spectrum[1:2000] = rng.standard_normal(1999) + 1j * rng.standard_normal(1999)
    audio = np.fft.irfft(spectrum, samples)
    return 0.3 * audio / np.max(np.abs(audio))


def test_a_seamless_loop_passes():
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(RATE // 2) / RATE)  # 100 whole cycles
    report = measure_seam(tone, RATE)
    assert report.passed and report.margin <= 1.0 + 1e-9
    assert report.step_ok and report.flux_ok


def test_a_click_at_the_seam_fails():
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(RATE // 2 - 60) / RATE)  # cut mid-cycle
    report = measure_seam(tone, RATE)
    assert not report.step_ok and not report.passed


def test_a_sudden_change_of_sound_at_the_seam_fails():
    noise = _periodic_noise()
    quiet_end = noise.copy()
    quiet_end[-len(noise) // 3 :] *= 0.05  # the end dies away, the start comes back loud
    assert measure_seam(noise, RATE).flux_ok
    assert not measure_seam(quiet_end, RATE).flux_ok


def test_stereo_reports_the_worse_channel():
    good = 0.5 * np.sin(2 * np.pi * 200 * np.arange(RATE // 2) / RATE)
    bad = good[30:].copy()
    stereo = np.stack([good[: len(bad)], bad])
    assert measure_seam(stereo, RATE).margin == pytest.approx(measure_seam(bad, RATE).margin)


def test_flux_is_zero_where_nothing_changes_and_needs_room():
    tone = np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)  # 20 whole cycles per 960 samples
    assert flux_at(tone, np.array([4800, 9600]), 960) == pytest.approx([0, 0], abs=1e-9)
    with pytest.raises(ValueError, match="both sides"):
        flux_at(tone, np.array([100]), 960)


def test_too_short_a_loop_is_refused():
    with pytest.raises(ValueError, match="at least"):
        measure_seam(np.zeros(1000), RATE)


@pytest.mark.parametrize(("window", "hop"), [(960, 240), (882, 220), (100, 100)])
def test_flux_on_an_even_grid_shares_spectra_and_agrees_exactly(window, hop):
    """`flux_every` reuses each window's spectrum when the hop divides the window (else it is
    `flux_at`): the values must be the same numbers, not merely close."""
    audio = np.random.default_rng(1).standard_normal(12000)
    positions = np.arange(window, len(audio) - window + 1, hop)
    assert np.array_equal(flux_every(audio, positions, window), flux_at(audio, positions, window))
    one = positions[3]
    before, after = audio[one - window : one][None], audio[one : one + window][None]
    assert flux_between(before, after)[0] == flux_at(audio, np.array([one]), window)[0]
    with pytest.raises(ValueError, match="both sides"):
        flux_every(audio, positions - window, window)


def test_a_loop_turned_up_or_down_keeps_its_seam_measure_scaled():
    noise = _periodic_noise().astype(np.float32)
    louder = (noise * np.float32(1.7)).astype(np.float32)
    gain = uniform_gain(louder, noise)
    assert gain == pytest.approx(1.7, rel=1e-6)
    scaled, measured = measure_seam(noise, RATE).scaled(gain), measure_seam(louder, RATE)
    for field in ("seam_flux", "flux_p95", "seam_step", "step_p99"):
        assert getattr(scaled, field) == pytest.approx(getattr(measured, field), rel=1e-4)


def test_audio_that_is_more_than_a_gain_of_another_has_no_uniform_gain():
    noise = _periodic_noise().astype(np.float32)
    shaped = noise * np.linspace(0.5, 1.0, len(noise), dtype=np.float32)  # a fade
    assert uniform_gain(shaped, noise) is None
    assert uniform_gain(noise[:-1], noise) is None
    assert uniform_gain(np.zeros(4), np.zeros(4)) == 1.0
