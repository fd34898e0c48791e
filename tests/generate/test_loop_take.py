"""A loop's take: two halves drawn side by side (steered or not), or whole where it is short."""

import numpy as np
import pytest

from sda.generate.loop_take import halves_fit, loop_take

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_free_take_is_drawn_in_two_halves_and_says_where_they_meet(tiny_prior_bundle):
    codes, joins = loop_take(tiny_prior_bundle, 33, seam=4, seed=2, temperature=1.5)
    assert codes.indices.shape[1] == 33 and joins == (0, 17)
    step = codes.provenance["operations"][-1]
    assert step["op"] == "generate" and step["halves"] == [0, 17] and step["seed"] == 2
    again, _ = loop_take(tiny_prior_bundle, 33, seam=4, seed=2, temperature=1.5)
    np.testing.assert_array_equal(codes.indices, again.indices)
    # two rows of one draw: the second half does not continue the first, nor repeat it
    assert not np.array_equal(codes.indices[:, :16], codes.indices[:, 17:])


def test_short_takes_are_drawn_whole(tiny_stereo_bundle):
    assert halves_fit(32, 8, 64) and not halves_fit(31, 8, 64)
    assert not halves_fit(40, 4, 192)  # each join would keep 16 frames, under a 24-frame eighth
    codes, joins = loop_take(tiny_stereo_bundle, 20, seam=6, seed=1)
    assert joins == (0,) and codes.frames == 20
    halves, joins = loop_take(tiny_stereo_bundle, 40, seam=4, seed=1, controls={"brightness": 0.5})
    assert joins == (0, 20) and halves.side_indices.shape[1] == 40


def test_steered_takes_are_drawn_in_halves_each_with_its_candidates(
    tiny_stereo_bundle, monkeypatch
):
    """Tension steers each half's own candidates and feeds back per half; one take asked for
    tension is fed back per half too. Chunks of 0.02 s: each half is chosen in while drawn."""
    from sda.generate import particles

    monkeypatch.setattr(particles, "CHUNK_SECONDS", 0.02)
    tension = {"tension": 0.9}
    steered, joins = loop_take(tiny_stereo_bundle, 41, seam=4, seed=1, controls=tension,
                               candidates=3)  # fmt: skip
    # joined as drawn: each half ran on 2 frames (half the seam) into the other's start
    assert joins == () and steered.frames == 41 and steered.side_indices.shape[1] == 41
    step = steered.provenance["operations"][-1]
    assert step["candidates"] == 3 and len(step["chosen"]) == 2 and step["joined"] == 2
    assert all(0 <= row < 3 for row in step["chosen"])
    assert [set(half) for half in step["feedback"]] == [{"tension"}, {"tension"}]
    again, _ = loop_take(tiny_stereo_bundle, 41, seam=4, seed=1, controls=tension, candidates=3)
    assert (again.indices == steered.indices).all()
    one, joins = loop_take(tiny_stereo_bundle, 41, seam=4, seed=1, controls=tension)
    step = one.provenance["operations"][-1]
    assert joins == (0, 21) and "chosen" not in step and len(step["feedback"]) == 2


def test_each_half_keeps_its_own_part_of_the_rests(tiny_prior_bundle):
    """A sparse loop's rests are laid out over the whole take; each half must rest where its
    frames do, not where the first half's do."""
    from sda.generate.rests import known_grid
    from sda.generate.steering import bundle_stats

    bundle, controls = tiny_prior_bundle, {"density": 0.0}
    frames = round(1.5 * bundle.codec.config.frame_rate) // 2 * 2
    codes, joins = loop_take(bundle, frames, seam=4, seed=3, controls=controls)
    half = frames // 2
    assert joins == (0, half)
    forced = known_grid(bundle, controls, bundle_stats(bundle), frames, 3)
    assert forced is not None
    rests = forced >= 0
    assert rests.any() and not np.array_equal(rests[:, :half], rests[:, half:])
    np.testing.assert_array_equal(codes.indices[rests], forced[rests])


def test_steered_halves_keep_the_rows_that_join_best_each_run_on_into_the_other(
    tiny_stereo_bundle, monkeypatch
):
    """The loop's grid is the pair `join_pair` chose, laid out by `Halves.grid`: what was drawn,
    not a redraw; a plain take's second half is chosen by the steering and only the middle
    joined."""
    from sda.generate import loop_take as module
    from sda.generate.stereo_takes import prior_rows

    seen, original = [], module.join_pair

    def spy(prior, halves, **options):
        seen.append((halves, options, original(prior, halves, **options)))
        return seen[-1][2]

    monkeypatch.setattr(module, "join_pair", spy)
    tension = {"tension": 0.9}
    for circular in (True, False):
        codes, joins = loop_take(
            tiny_stereo_bundle, 41, seam=4, seed=3, controls=tension, candidates=3,
            circular=circular,
        )  # fmt: skip
        halves, options, pair = seen[-1]
        assert joins == () and halves.own == (21, 20) and halves.extend == 2
        assert options["circular"] is circular and (options["second"] is None) is circular
        grid = halves.grid(pair, circular=circular).numpy()
        np.testing.assert_array_equal(prior_rows(tiny_stereo_bundle, codes), grid)
        assert codes.provenance["operations"][-1]["chosen"] == list(pair)


def test_the_last_choice_leaves_the_rows_differing_only_where_they_run_on(
    tiny_stereo_bundle, monkeypatch
):
    """Steering chooses last where each half's own frames are complete, so all of a half's own
    frames are steered and its candidates differ only in their extensions, which the join picks
    from. Chunks of 0.05 s (19 frames at the tiny codec's 375 frames/s): drawn from the first
    column, the last choice would fall 9 frames before the halves' ends."""
    from sda.generate import loop_take as module
    from sda.generate import particles

    monkeypatch.setattr(particles, "CHUNK_SECONDS", 0.05)
    seen, original = [], module.join_pair
    monkeypatch.setattr(
        module,
        "join_pair",
        lambda prior, halves, **o: seen.append(halves) or original(prior, halves, **o),
    )
    loop_take(  # hot, since the tiny prior would often draw the same three extensions
        tiny_stereo_bundle, 41, seam=6, seed=4, controls={"tension": 0.9}, candidates=3,
        temperature=2.0,
    )  # fmt: skip
    (halves,) = seen
    for group, own in zip((0, 1), halves.own, strict=True):
        rows = halves.group(group)
        assert (rows[1:, :, :own] == rows[0, :, :own]).all()  # every own frame shared
        assert (rows[1:, :, own:] != rows[0, :, own:]).any()  # the extensions still differ

    def measured_again(*args, **kwargs):
        raise AssertionError("a plain take's second half measured again")

    # so a plain take's second half needs no last measure of its own
    monkeypatch.setattr(module.ParticleGroups, "closest_in", measured_again)
    codes, joins = loop_take(
        tiny_stereo_bundle, 41, seam=6, seed=4, controls={"tension": 0.9}, candidates=3,
        temperature=2.0, circular=False,
    )  # fmt: skip
    assert joins == () and codes.provenance["operations"][-1]["chosen"][1] == 0


def test_steered_halves_rest_where_the_take_rests_their_extensions_too(tiny_prior_bundle):
    """Each steered half runs on into the other's start: the frames it draws there must rest
    where the take's rests fall (the other half's), at the loop's wrap-around too."""
    from sda.generate.rests import known_grid
    from sda.generate.steering import bundle_stats

    bundle, controls = tiny_prior_bundle, {"density": 0.0, "tension": 0.8}
    frames = round(1.5 * bundle.codec.config.frame_rate) // 2 * 2 + 1  # odd: halves differ
    # hot: a tiny prior may draw the codes of silence itself, which would hide a forced rest
    codes, joins = loop_take(
        bundle, frames, seam=8, seed=3, controls=controls, candidates=3, temperature=2.0
    )
    assert joins == () and codes.provenance["operations"][-1]["joined"] == 4
    forced = known_grid(bundle, controls, bundle_stats(bundle), frames, 3)
    assert forced is not None
    rests = forced >= 0
    half = (frames + 1) // 2
    joins_region = np.zeros(frames, dtype=bool)
    joins_region[:4] = joins_region[half : half + 4] = True  # drawn by the other half's rows
    assert rests[:, joins_region].any()
    np.testing.assert_array_equal(codes.indices[rests], forced[rests])
    # the loop's first frames play (the second half's last own frame rests): run on from the
    # end of the second half, its rows drew them, not the rests of the frame before the wrap
    assert rests[:, -1].all() and not rests[:, :4].any()
    silence = forced[:, -1]
    assert not (codes.indices[:, :4] == silence[:, None]).all()
