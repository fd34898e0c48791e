"""Roughness set at render time by spectral contrast (`sda.generate.roughness`)."""

from __future__ import annotations

import factories
import numpy as np
import pytest
from scipy.stats import spearmanr

from sda.audio.descriptors import DescriptorStats, measure
from sda.dna.decode import decode_codes
from sda.generate import generate
from sda.generate.roughness import MAX_CONTRAST, apply_contrast, set_roughness

RATE = 48_000
# the mixture below measures -17 dB of flatness; this range puts it near the middle
ROUGH_STATS = {**factories.DESCRIPTOR_STATS, "roughness": [-30.0, -8.0]}
STATS = DescriptorStats.from_dict(ROUGH_STATS)


mixture = factories.pluck_over_drone  # peaks over a noise floor


class _Model:
    """What `set_roughness` reads of a bundle: the descriptor statistics."""

    meta = {"descriptor_stats": ROUGH_STATS}


def test_a_setting_lands_on_its_flatness_and_follows_it():
    sound = mixture()
    settings = (0.1, 0.3, 0.5, 0.7, 0.9)
    measured = []
    for setting in settings:
        out = set_roughness(_Model, sound, {"roughness": setting})
        assert out.shape == sound.shape and np.isfinite(out).all()
        measured.append(measure(out, RATE)["roughness"])
    assert spearmanr(settings, measured).statistic == pytest.approx(1.0)
    for setting, got in zip(settings, measured, strict=True):
        want = STATS.denormalize(np.full(6, setting))[2]
        assert abs(got - want) < 1.5, (setting, want, got)


def test_contrast_one_is_the_sound_and_energy_stays():
    sound = mixture()
    np.testing.assert_allclose(apply_contrast(sound, 1.0), sound)
    for contrast in (0.7, 1.5):
        out = apply_contrast(sound, contrast)
        ratio = float((out.astype(np.float64) ** 2).sum() / (sound.astype(np.float64) ** 2).sum())
        assert 0.8 < ratio < 1.25, (contrast, ratio)


def test_unasked_is_untouched_stereo_stays_stereo_and_bounds_hold():
    sound = mixture()
    np.testing.assert_array_equal(set_roughness(_Model, sound, {"density": 0.2}), sound)
    stereo = np.stack([sound, 0.5 * sound])
    out = set_roughness(_Model, stereo, {"roughness": 0.9})
    assert out.shape == stereo.shape
    np.testing.assert_allclose(out[1], 0.5 * out[0], atol=1e-5)  # one gain for both channels
    beyond = {**ROUGH_STATS, "roughness": [-200.0, -199.0]}  # cleaner than any exponent reaches

    class Clean:
        meta = {"descriptor_stats": beyond}

    np.testing.assert_allclose(
        set_roughness(Clean, sound, {"roughness": 0.5}), apply_contrast(sound, MAX_CONTRAST)
    )


def test_a_loop_keeps_its_seam():
    """A loop is shaped as one turn of itself: played twice, its seam steps no more than its
    inside does."""
    t = np.arange(RATE) / RATE
    loop = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.sin(2 * np.pi * 3300 * t)).astype(
        np.float32
    )
    out = set_roughness(_Model, loop, {"roughness": 0.9}, circular=True)
    twice = np.concatenate([out, out])
    steps = np.abs(np.diff(twice))
    assert steps[len(out) - 1] <= np.percentile(steps, 99.9)


def test_a_generated_take_is_rendered_rougher_than_decoded(tiny_prior_bundle):
    """The tiny bundle's roughness range (0..1 dB of flatness) lies above anything it decodes, so
    its rendered take is as rough as the bounds allow: rougher than its codes decode."""
    take = generate(tiny_prior_bundle, seconds=1.0, seed=0, controls={"roughness": 0.5})
    decoded = decode_codes(tiny_prior_bundle.codec, take.codes)
    assert measure(take.audio, RATE)["roughness"] > measure(decoded, RATE)["roughness"] + 3.0
