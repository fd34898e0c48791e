"""Which controls a codec keeps: rank correlation of the material's descriptors and its decoded
copy's, per 1 s window, and how a model's weak controls are found and described."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from factories import pluck_over_drone

from sda.audio.control_fidelity import (
    FIDELITY_KEY,
    describe_kept,
    fidelity,
    rank_correlation,
    weak_controls,
    window_descriptors,
)
from sda.audio.descriptors import CONTROL_NAMES, analyse

RATE = 48000


def test_rank_correlation_is_spearmans_rho() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert rank_correlation(a, a**3) == pytest.approx(1.0)  # any increasing map keeps the order
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert rank_correlation(a, np.array([2.0, 1.0, 4.0, 3.0, 5.0])) == pytest.approx(0.8)
    assert np.isnan(rank_correlation(a, np.ones(5)))  # a constant copy orders nothing
    assert np.isnan(rank_correlation(a[:2], a[:2]))  # too few windows to say


def material() -> np.ndarray:
    """Eight seconds whose brightness and loudness change from second to second."""
    rng = np.random.default_rng(0)
    seconds = [pluck_over_drone(1.0) * rng.uniform(0.05, 1.0) for _ in range(8)]
    lows = [scipy.signal.butter(2, rng.uniform(500, 8000), fs=RATE, output="sos") for _ in seconds]
    return np.concatenate(
        [scipy.signal.sosfilt(sos, s) for sos, s in zip(lows, seconds, strict=True)]
    )


def test_a_faithful_copy_keeps_every_control_and_a_flattening_one_loses_loudness() -> None:
    audio = material().astype(np.float32)
    frames = analyse(audio, RATE)
    original, same = window_descriptors(frames, analyse(audio.copy(), RATE), len(audio))
    assert original.shape == (15, len(CONTROL_NAMES))  # 1 s windows, hop 0.5 s, over 8 s
    kept = fidelity(original, same)
    assert kept["brightness"] == pytest.approx(1.0) and kept["loudness"] == pytest.approx(1.0)
    # a "codec" that brings every second to the same level keeps brightness, not loudness
    blocks = audio.reshape(8, RATE)
    levelled = (blocks / np.sqrt((blocks**2).mean(axis=1, keepdims=True))).ravel() * 0.1
    _, flat = window_descriptors(frames, analyse(levelled.astype(np.float32), RATE), len(audio))
    lost = fidelity(original, flat)
    assert lost["brightness"] > 0.7 and lost["loudness"] < 0.5, lost  # straddling windows blur


def test_weak_controls_are_those_below_the_threshold() -> None:
    stats = {"tension": [0.0, 1.0], FIDELITY_KEY: {"tension": 0.52, "density": 0.99}}
    assert weak_controls(stats) == {"tension": 0.52}
    assert weak_controls({"tension": [0.0, 1.0]}) == {}  # a model from before fidelity
    assert weak_controls(None) == {}
    odd = {FIDELITY_KEY: {"tension": "high", "nonsense": 0.1, "warmth": 0.3}}
    assert weak_controls(odd) == {"warmth": 0.3}  # damaged entries are skipped, not raised


def test_describe_kept_names_the_weak_controls() -> None:
    stats = {name: [0.0, 1.0] for name in CONTROL_NAMES}
    assert describe_kept(stats) == ", ".join(CONTROL_NAMES)  # not measured: the names
    stats[FIDELITY_KEY] = {name: 0.95 for name in CONTROL_NAMES} | {"tension": 0.53}
    described = describe_kept(stats)
    assert "tension 0.53 (moves little)" in described and "brightness 0.95," in described
    assert describe_kept({"material_level": {}}) is None
