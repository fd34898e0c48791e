"""The direction row: where a stereo model's side sits, measured, packed, and rebuilt on decode."""

from __future__ import annotations

from dataclasses import asdict, replace

import factories
import numpy as np
import pytest
import torch

from sda.models import stereo_direction as direction
from sda.models.codec import CodecConfig
from sda.models.stereo_codec import StereoCodec, to_mid_side

RATE = 48_000
CONFIG = CodecConfig(codebook_size=256)


def lean_db(stereo) -> float:
    """Left over right energy, dB (a hard pan reads as a large finite lean)."""
    energy = np.sum(np.asarray(stereo, dtype=np.float64) ** 2, axis=-1) + 1e-12
    return float(10 * np.log10(energy[0] / energy[1]))


def panned(left: float, right: float, seconds: float = 0.5, seed: int = 0) -> torch.Tensor:
    """(1, 2, samples): a pluck and some noise at the given channel gains."""
    sound = factories.synth_sound("pluck", seconds=seconds, seed=seed)
    sound = sound + 0.05 * np.random.default_rng(seed).standard_normal(sound.size)
    return torch.from_numpy(np.stack([left * sound, right * sound]).astype(np.float32))[None]


@pytest.mark.parametrize("size", [16, 27, 64, 128, 512, 1024])
def test_every_step_packs_into_one_code_and_back(size):
    steps = direction.direction_steps(size)
    assert len(steps) ** direction.bands() <= size and 0.0 in steps
    grids = np.stack(np.meshgrid(*[steps] * direction.bands(), indexing="ij"), -1)
    rho = torch.from_numpy(grids.reshape(-1, direction.bands()).T.copy())[None]  # (1, bands, n)
    codes = direction.to_codes(rho, size)
    assert codes.min() >= 0 and codes.max() < size and len(set(codes[0].tolist())) == rho.shape[2]
    torch.testing.assert_close(direction.from_codes(codes, size), rho)
    centred = torch.tensor([[direction.centred_code(size)]])
    assert direction.from_codes(centred, size).abs().max() == 0


def test_a_code_the_packing_cannot_make_reads_as_centred():
    stray = torch.tensor([[63, 200, -1]])  # 3 steps per band pack into 0..26
    assert direction.from_codes(stray, 64).abs().max() == 0


def test_the_measure_says_left_right_and_room():
    for gains, sign in (((1.0, 0.0), 1), ((0.0, 1.0), -1), ((1.0, 0.4), 1), ((0.4, 1.0), -1)):
        mid, side = to_mid_side(panned(*gains)[0:1].float())
        rho = direction.measured(mid, side, CONFIG)
        assert rho.shape == (1, direction.bands(), -(-mid.shape[-1] // 1024))
        loud = rho[0, 1][mid[0].reshape(-1).abs().max() > 0]  # the mids' band, where it sounds
        assert (sign * loud > 0.9).float().mean() > 0.8, gains
    rng = np.random.default_rng(3)
    room = torch.from_numpy(rng.standard_normal((1, 2, RATE)).astype(np.float32))
    mid, side = to_mid_side(room)
    assert direction.measured(mid, side, CONFIG).abs().mean() < 0.15  # few bins below 400 Hz


def test_the_side_rebuilt_from_the_row_keeps_a_pan_where_it_was():
    for gains in ((1.0, 0.3), (0.3, 1.0), (1.0, 0.0)):
        stereo = panned(*gains, seconds=1.0)
        mid, side = to_mid_side(stereo)
        rho = direction.from_codes(
            direction.to_codes(direction.measured(mid, side, CONFIG), 256), 256
        )
        unsigned = side.abs() * torch.sign(mid)  # what a magnitude-only decoder could give: S or -S
        for guess in (side, -side, unsigned):
            played = direction.directed_side(mid, guess, rho, CONFIG)
            rebuilt = torch.stack([mid + played, mid - played], dim=1)[0].numpy()
            want = lean_db(stereo[0].numpy())
            assert np.sign(lean_db(rebuilt)) == np.sign(want), gains
            if abs(want) < 20:  # a hard pan's silent channel has no finite lean to match
                assert abs(lean_db(rebuilt) - want) < 2.5, (gains, lean_db(rebuilt))


def test_a_stereo_codec_with_the_row_decodes_a_pan_on_its_side(tiny_models):
    codec = factories.stereo_twin(tiny_models[0], side_levels=4)
    stereo = StereoCodec.of(codec)
    assert stereo.direction and codec.config.grid_levels == 4 + 4 + 1
    for gains in ((1.0, 0.3), (0.3, 1.0)):
        x = panned(*gains)
        codes = stereo.encode(x)
        assert codes.side.shape[1] == 5  # four levels and the direction row
        decoded = stereo.decode(codes)[0, :, : x.shape[-1]].numpy()
        assert np.sign(lean_db(decoded)) == np.sign(gains[0] - gains[1]), gains
        assert abs(lean_db(decoded)) > 3.0, (gains, lean_db(decoded))
        fewer = stereo.decode(codes, levels=2)  # fewer levels: the row still places the side
        assert np.sign(lean_db(fewer[0].numpy())) == np.sign(gains[0] - gains[1])


def test_older_stereo_models_and_every_mono_model_keep_their_grids_and_ids(tiny_models):
    legacy = factories.stereo_twin(tiny_models[0], direction=False)
    assert legacy.config.grid_levels == 4 + 2 and not StereoCodec.of(legacy).direction
    assert StereoCodec.of(legacy).encode(panned(1.0, 0.3)).side.shape[1] == 2
    mono = tiny_models[0].config
    assert replace(mono, side_direction=True).side_direction is False  # mono: nothing to direct
    assert CodecConfig.from_dict({**asdict(mono), "side_direction": True}) == mono
    with_row = factories.stereo_twin(tiny_models[0], side_levels=2)
    assert with_row.fingerprint() != legacy.fingerprint()  # codes of one don't pass for the other
