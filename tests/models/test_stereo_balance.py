"""A stereo decode keeps left and right in balance: the side is decorrelated from the mid."""

from __future__ import annotations

import numpy as np
import torch

from sda.models.stereo_codec import StereoCodec, decorrelated


def test_decorrelation_turns_each_frequency_a_quarter_and_keeps_its_energy():
    t = np.arange(4800) / 48_000
    sine = np.sin(2 * np.pi * 1000 * t)
    turned = decorrelated(sine)
    np.testing.assert_allclose(turned, -np.cos(2 * np.pi * 1000 * t), atol=1e-9)
    tensor = decorrelated(torch.from_numpy(sine).float()[None])
    np.testing.assert_allclose(tensor[0].numpy(), turned, atol=1e-4)
    noise = np.random.default_rng(0).standard_normal(48_000)
    out = decorrelated(noise)
    assert abs(np.dot(out, noise)) / np.dot(noise, noise) < 0.01
    assert np.sum(out**2) / np.sum(noise**2) > 0.99


def lean_db(stereo: np.ndarray) -> float:
    energy = np.sum(np.asarray(stereo, dtype=np.float64) ** 2, axis=-1)
    return float(10 * np.log10(energy[0] / energy[1]))


def test_a_source_on_the_right_no_longer_comes_back_on_the_left(tiny_models):
    codec = tiny_models[0]
    rng = np.random.default_rng(1)
    tone = np.sin(2 * np.pi * 330 * np.arange(24_000) / 48_000) * (1 + 0.1 * rng.random(24_000))
    stereo = StereoCodec(codec, side_gain=2.0)
    for gains in ((1.0, 0.3), (0.3, 1.0)):
        x = torch.from_numpy(np.stack([gains[0] * tone, gains[1] * tone]).astype(np.float32))
        decoded = stereo.reconstruct_unquantized(x[None])[0, :, : tone.size].numpy()
        # before: both came back about 10 dB louder on the left (the side in phase with the mid)
        assert abs(lean_db(decoded)) < 3.0, gains
