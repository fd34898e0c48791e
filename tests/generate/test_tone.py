"""Brightness and warmth set by a gentle EQ at render time (`sda.generate.tone`)."""

from __future__ import annotations

import factories
import numpy as np
import pytest
from scipy.stats import spearmanr

from sda.audio.descriptors import DescriptorStats, measure
from sda.generate import generate, tone

RATE = 48_000
# the mixture below measures brightness 9.2 (about 600 Hz) and warmth +15 dB
TONE_STATS = {**factories.DESCRIPTOR_STATS, "warmth": [5.0, 20.0]}
STATS = DescriptorStats.from_dict(TONE_STATS)


mixture = factories.pluck_over_drone


class _Model:
    """What `set_tone` reads of a bundle: the sample rate and the descriptor statistics."""

    class codec:  # noqa: N801 - the attribute path a bundle has
        class config:  # noqa: N801
            sample_rate = RATE

    meta = {"descriptor_stats": TONE_STATS}


@pytest.mark.parametrize("name", ["brightness", "warmth"])
def test_a_setting_lands_on_its_descriptor_and_follows_it(name):
    sound = mixture()
    measured = []
    for setting in (0.1, 0.3, 0.5, 0.7, 0.9):
        out = tone.set_tone(_Model, sound, {name: setting})
        assert out.shape == sound.shape and np.isfinite(out).all()
        measured.append(measure(out, RATE)[name])
    asked = [STATS.denormalize(np.full(6, s))[0 if name == "brightness" else 1] for s in (0.3, 0.5)]
    assert spearmanr((0.1, 0.3, 0.5, 0.7, 0.9), measured).statistic == pytest.approx(1.0)
    for want, got in zip(asked, measured[1:3], strict=True):  # where the EQ bounds allow
        assert abs(got - want) < (0.05 if name == "brightness" else 0.5), (name, want, got)


def test_no_tone_control_leaves_the_take_as_decoded_and_stereo_stays_stereo():
    sound = mixture()
    assert tone.set_tone(_Model, sound, {"loudness": 0.5}) is not None
    np.testing.assert_array_equal(tone.set_tone(_Model, sound, {"density": 0.9}), sound)
    stereo = np.stack([sound, 0.5 * sound])
    out = tone.set_tone(_Model, stereo, {"brightness": 0.9})
    assert out.shape == stereo.shape
    np.testing.assert_allclose(out[1], 0.5 * out[0], atol=1e-5)  # one EQ for both channels


def test_the_eq_stays_within_its_bounds():
    freqs = np.geomspace(20, 24_000, 200)
    for tilt, shelf in ((9.0, 0.0), (-9.0, 40.0), (3.0, 12.0)):
        assert np.abs(tone.eq_db(freqs, tilt, shelf)).max() <= tone.MAX_GAIN_DB
    power, bins = tone._long_term_power(mixture())
    tilt, shelf = tone.solve_eq(power, bins * RATE, 30.0, None)  # beyond any spectrum: a bound
    assert tilt == tone.MAX_TILT_DB_PER_OCTAVE and shelf == 0.0


def test_a_generated_take_with_a_brightness_setting_is_brighter(tiny_prior_bundle):
    dark = generate(tiny_prior_bundle, seconds=1.0, seed=0, controls={"brightness": 0.1})
    bright = generate(tiny_prior_bundle, seconds=1.0, seed=0, controls={"brightness": 0.9})
    assert measure(bright.audio, RATE)["brightness"] > measure(dark.audio, RATE)["brightness"]


def test_the_eq_filters_a_take_as_one_pass_and_a_loop_as_one_turn():
    # a click at the very end: filtered linearly it must not ring into the start (the pad);
    # filtered as a loop (circular) it must, as the next turn would play it
    sound = np.zeros(RATE // 2 + 1907, dtype=np.float32)  # a length that factors badly
    sound[-1] = 1.0
    linear = tone.apply_eq(sound, RATE, 3.0, 6.0)
    circular = tone.apply_eq(sound, RATE, 3.0, 6.0, circular=True)
    assert linear.shape == circular.shape == sound.shape and linear.dtype == np.float32
    assert np.abs(linear[:100]).max() < 1e-4 * np.abs(linear).max()
    assert np.abs(circular[:100]).max() > 1e-2 * np.abs(circular).max()
