"""Seamless loops from a stereo model: both grids rotated and redrawn, both channels cut alike."""

import numpy as np
import pytest

from sda.audio.seam import measure_seam
from sda.generate import generate
from sda.generate.loop import generate_loop, seamless_grid
from sda.generate.loop_length import loop_length

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _length(bundle, **settings):
    config = bundle.codec.config
    return loop_length(
        sample_rate=config.sample_rate, samples_per_frame=config.samples_per_frame, **settings
    )


def test_a_stereo_loop_is_two_channels_of_exact_length_with_a_seam_that_passes(
    tiny_stereo_bundle,
):
    length = _length(tiny_stereo_bundle, seconds=0.5)
    loop = generate_loop(tiny_stereo_bundle, length, seed=0, temperature=1.5)
    assert loop.audio.shape == (2, length.samples) and loop.channels == 2
    assert loop.codes.channels == 2 and loop.codes.frames == length.frames
    assert loop.points.end == length.samples
    assert measure_seam(loop.audio, loop.sample_rate) == loop.seam  # the worse channel
    assert loop.seam.passed, loop.seam
    assert not np.allclose(loop.audio[0], loop.audio[1])  # the image survives the cut


def test_a_tempo_fitted_stereo_loop_is_exact_to_the_sample(tiny_stereo_bundle):
    length = _length(tiny_stereo_bundle, bars=1, bpm=333, beats_per_bar=3)
    loop = generate_loop(tiny_stereo_bundle, length, seed=4)
    assert loop.audio.shape == (2, length.samples)


def test_the_join_is_redrawn_in_both_grids_and_the_rest_only_rotated(tiny_stereo_bundle):
    codes = generate(tiny_stereo_bundle, seconds=0.3, seed=5, temperature=1.5).codes
    grid = seamless_grid(tiny_stereo_bundle, codes, seed=5, seam_frames=10, temperature=1.5)
    shift = codes.frames // 2
    join = codes.frames - shift
    kept = np.ones(codes.frames, dtype=bool)
    kept[join - 5 : join + 5] = False
    for new, old in ((grid.indices, codes.indices), (grid.side_indices, codes.side_indices)):
        np.testing.assert_array_equal(new[:, kept], np.roll(old, -shift, axis=1)[:, kept])
    assert grid.channels == 2 and grid.side_levels == codes.side_levels
