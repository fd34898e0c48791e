"""Width on a stereo model's own side (sda.audio.stereo_field.model_field), on a real stereo take."""

import numpy as np
import pytest

from sda.audio.mono_compat import mono_compatibility
from sda.audio.spatial import SpatialError
from sda.audio.stereo_field import (
    AS_GENERATED,
    MAX_MODEL_SIDE_RATIO,
    describe_model_width,
    level_difference_db,
    measure_width,
    model_field,
)
from sda.generate import generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def take(tiny_stereo_bundle):
    made = generate(tiny_stereo_bundle, seconds=0.5, seed=2)
    assert made.audio.shape[0] == 2
    return made


def test_width_moves_the_measured_side_mid_ratio_and_keeps_the_mid(take):
    rate = take.sample_rate
    widths = [0.0, 0.25, AS_GENERATED, 0.75, 1.0]
    spread = [model_field(take.audio, rate, width=w) for w in widths]
    ratios = [measure_width(audio) for audio in spread]
    assert ratios[0] < 1e-9  # 0 = mono
    assert ratios[2] == pytest.approx(measure_width(take.audio), rel=1e-4)  # as generated
    assert np.all(np.diff(ratios[:4]) > 0) and ratios[4] >= ratios[3], ratios
    assert max(ratios) <= MAX_MODEL_SIDE_RATIO + 1e-6
    mid = take.audio.mean(axis=0)
    for audio in spread:  # the downmix is the take's at every width
        np.testing.assert_allclose(audio.mean(axis=0), mid, atol=1e-6)
        assert not mono_compatibility(audio).cancels


def test_a_wide_side_is_capped_where_left_and_right_stop_being_related():
    rng = np.random.default_rng(0)
    left, right = rng.normal(0, 0.1, (2, 48_000))
    wide = np.stack([left, 0.3 * left + 0.95 * right]).astype(np.float32)  # correlation ~0.3
    widest = model_field(wide, 48_000, width=1.0)
    assert measure_width(widest) == pytest.approx(MAX_MODEL_SIDE_RATIO, rel=1e-3)
    assert mono_compatibility(widest).correlation > -0.01  # not turned against each other


def test_movement_swings_a_stereo_take_from_side_to_side(take):
    # as a loop: one whole swing in the take, from the far left and back
    moving = model_field(take.audio, take.sample_rate, width=0.0, movement=1.0, loop=True)
    swing = level_difference_db(moving, take.sample_rate, block_seconds=0.025)
    assert swing.max() > 8.0 and swing.min() < -8.0  # a mono image set in motion


def test_the_width_reads_as_a_share_of_the_models_side():
    assert describe_model_width(0.0).startswith("mono")
    assert describe_model_width(AS_GENERATED) == "the model's own side, as generated"
    assert describe_model_width(1.0) == "side of the model +6.0 dB"


@pytest.mark.parametrize("bad", [np.zeros(100), np.zeros((3, 100))])
def test_model_field_refuses_audio_that_is_not_stereo(bad):
    with pytest.raises(SpatialError, match="\\(2, samples\\)"):
        model_field(bad, 48_000, width=0.7)
