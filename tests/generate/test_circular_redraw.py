"""Several regions of a repeating grid redrawn in one batch, from the tiny real model."""

import numpy as np
import pytest

from sda.generate import GenerationError, generate
from sda.generate.circular_redraw import circular_regions, circular_slices, redraw_circular

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def take(tiny_prior_bundle):
    return generate(tiny_prior_bundle, seconds=0.5, seed=3, temperature=1.5).codes


def test_joins_land_inside_the_rolled_grid_with_their_regions_centred_on_them():
    assert circular_regions((0,), 40, 10) == (20, [15])  # one join: rolled by half the grid
    shift, starts = circular_regions((0, 20), 40, 8)
    assert shift == 10 and starts == [6, 26]  # both joins 10 frames from the rolled edges
    shift, starts = circular_regions((0, 30), 40, 4)
    assert shift == 15 and starts == [13, 23]  # the edge goes in the middle of the widest gap


def test_slices_wrap_around_the_grid():
    import torch

    grid = torch.arange(10)[None].repeat(2, 1)
    np.testing.assert_array_equal(circular_slices(grid, [8, -1], 3)[:, 0], [[8, 9, 0], [9, 0, 1]])


def test_only_the_regions_change_and_the_seed_repeats(tiny_prior_bundle, take):
    regions = [(3, 9), (14, 20)]
    first = redraw_circular(tiny_prior_bundle, take, regions, seed=4, temperature=1.5)
    again = redraw_circular(tiny_prior_bundle, take, regions, seed=4, temperature=1.5)
    np.testing.assert_array_equal(first.indices, again.indices)
    kept = np.ones(take.frames, dtype=bool)
    for start, end in regions:
        kept[start:end] = False
    np.testing.assert_array_equal(first.indices[:, kept], take.indices[:, kept])
    assert not np.array_equal(first.indices[:, ~kept], take.indices[:, ~kept])
    steps = first.provenance["operations"][-2:]
    assert [(step["op"], step["start"], step["end"]) for step in steps] == [
        ("regenerate", 3, 9),
        ("regenerate", 14, 20),
    ]


def test_a_region_may_sit_at_the_grids_start_its_history_taken_from_the_end(
    tiny_prior_bundle, take
):
    redrawn = redraw_circular(tiny_prior_bundle, take, [(0, 5)], seed=1, candidates=2)
    np.testing.assert_array_equal(redrawn.indices[:, 5:], take.indices[:, 5:])


@pytest.mark.parametrize(
    "regions",
    [[(3, 9), (8, 14)], [(3, 9), (9, 15)], [(3, 9), (12, 15)], [(0, 5), (20, 999)], []],
)
def test_overlapping_touching_uneven_or_outside_regions_are_refused(
    tiny_prior_bundle, take, regions
):
    with pytest.raises(GenerationError, match="regions"):
        redraw_circular(tiny_prior_bundle, take, regions)
