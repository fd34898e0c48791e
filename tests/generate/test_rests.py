"""The density control's rests: where they fall, and takes that keep them (mono and stereo)."""

import numpy as np
import pytest
from factories import DESCRIPTOR_STATS

from sda.audio.descriptors import DescriptorStats
from sda.dna.codec_bridge import encode_audio
from sda.generate import generate
from sda.generate.rests import (
    MIN_RATE,
    density_rate,
    known_grid,
    release_into_rests,
    rest_frames,
    resting_frames,
    silence_column,
    span_seconds,
)
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import prior_rows

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# a drum set's range: 0..3 onsets/s, so a span of 1/3 s
DRUMS = DescriptorStats.from_dict({**DESCRIPTOR_STATS, "density": [0.0, 3.0]})
FRAME_RATE = 43.0


def onsets_per_second(rests: np.ndarray) -> float:
    """Sounding spans that start after a rest (or at the top), per second of the take."""
    starts = np.flatnonzero(~rests & np.concatenate([[True], rests[:-1]]))
    return len(starts) / (len(rests) / FRAME_RATE)


def test_rates_follow_the_setting_within_the_material_range():
    assert density_rate(0.0, DRUMS) == MIN_RATE  # never a silent take
    assert density_rate(0.5, DRUMS) == pytest.approx(1.5)
    assert span_seconds(DRUMS) == pytest.approx(1 / 3)
    rates = [
        onsets_per_second(rest_frames(v, DRUMS, 43 * 60, FRAME_RATE, seed=0))
        for v in (0.1, 0.3, 0.5)
    ]
    for measured, asked in zip(rates, (0.3, 0.9, 1.5), strict=True):
        assert measured == pytest.approx(asked, rel=0.15)


def test_the_busy_end_forces_nothing_and_the_first_frame_sounds():
    assert not rest_frames(1.0, DRUMS, 500, FRAME_RATE, seed=0).any()
    for value in (0.0, 0.1, 0.5):
        rests = rest_frames(value, DRUMS, 500, FRAME_RATE, seed=1)
        assert not rests[0] and rests.any()
    sparse, busy = (rest_frames(v, DRUMS, 500, FRAME_RATE, seed=2).mean() for v in (0.1, 0.7))
    assert sparse > 0.7 > busy


def test_rests_vary_with_the_seed_and_follow_a_curve():
    one, again, other = (rest_frames(0.2, DRUMS, 800, FRAME_RATE, seed=s) for s in (4, 4, 5))
    assert np.array_equal(one, again) and not np.array_equal(one, other)
    rising = rest_frames([0.0, 1.0], DRUMS, 800, FRAME_RATE, seed=0)
    assert rising[:200].mean() > 0.6 and not rising[770:].any()  # settings above 0.95


def test_no_rests_without_density_or_descriptor_ranges(tiny_prior_bundle):
    assert known_grid(tiny_prior_bundle, {"brightness": 0.2}, DRUMS, 100, seed=0) is None
    assert known_grid(tiny_prior_bundle, {"density": 0.1}, None, 100, seed=0) is None


def test_a_sparse_take_holds_the_codes_of_silence_where_it_rests(tiny_prior_bundle):
    bundle = tiny_prior_bundle
    stats = DescriptorStats.from_dict(bundle.meta["descriptor_stats"])
    take = generate(bundle, seconds=1.5, seed=3, controls={"density": 0.0})
    frames = take.codes.frames
    rests = rest_frames(0.0, stats, frames, float(bundle.codec.config.frame_rate), seed=3)
    assert rests.any() and not rests.all()
    silence = silence_column(bundle)
    assert (take.codes.indices[:, rests] == silence[:, None]).all()
    sounding = take.codes.indices[:, ~rests]
    assert not (sounding == silence[:, None]).all()  # the prior still samples the spans
    free = generate(bundle, seconds=1.5, seed=3).codes.indices
    assert not np.array_equal(free, take.codes.indices)


def test_a_stereo_take_rests_silent_and_centred(tiny_stereo_bundle):
    bundle = tiny_stereo_bundle
    take = generate(bundle, seconds=1.0, seed=1, controls={"density": 0.0})
    grid = prior_rows(bundle, take.codes)
    silence = silence_column(bundle)
    assert len(silence) == grid.shape[0]  # mid, side and the direction row
    resting = (grid == silence[:, None]).all(axis=0)
    assert resting.any() and not resting.all()
    assert take.audio.shape[0] == 2


def test_spans_fade_out_into_silent_rests():
    spf, rate = 100, 10_000
    rests = np.array([False] * 6 + [True] * 4 + [False] * 3)
    audio = np.ones((2, len(rests) * spf), dtype=np.float32)
    out = release_into_rests(audio, rests, spf, rate)
    assert out.shape == audio.shape and np.array_equal(out[0], out[1])
    assert (out[:, : 6 * spf - 300] == 1).all()  # the span sounds until its release
    fade = out[0, 6 * spf - 300 : 6 * spf]  # half the 600-sample span at most, here all 0.1 s
    assert fade[0] == pytest.approx(1) and fade[-1] < 0.01 and (np.diff(fade) <= 1e-7).all()
    assert (out[:, 6 * spf : 9 * spf] == 0).all()  # silent through the rest
    assert 0 <= out[0, 9 * spf + 50] < 1 and (out[:, 10 * spf :] == 1).all()  # fade-in, attack


def test_a_sparse_take_renders_with_released_spans(tiny_prior_bundle):
    bundle, controls = tiny_prior_bundle, {"density": 0.0}
    take = generate(bundle, seconds=1.5, seed=3, controls=controls)
    # the rests the density setting forced (a tiny prior may draw the codes of silence too)
    forced = known_grid(bundle, controls, bundle_stats(bundle), take.codes.frames, 3)
    rests = (forced >= 0).all(axis=0)
    assert resting_frames(bundle, take.codes)[rests].all()
    spf = bundle.codec.config.samples_per_frame
    first = int(np.flatnonzero(rests)[0])
    assert first > 0  # the first frame always sounds
    silent = take.audio[first * spf : (first + 1) * spf]
    assert np.abs(silent).max() == 0.0  # the rest is silence, whatever the decoder hissed


def test_a_loop_releases_its_last_span_into_its_first_rest():
    spf, rate = 100, 10_000
    rests = np.array([True] * 3 + [False] * 6 + [True] * 2 + [False] * 5)  # a loop's frames
    audio = np.ones(len(rests) * spf, dtype=np.float32)
    out = release_into_rests(audio, rests, spf, rate, circular=True)
    assert (out[: 2 * spf] == 0).all()  # the first rest is silent
    tail = out[-250:]  # the last span fades out as it wraps into that rest
    assert tail[0] == pytest.approx(1, abs=1e-3) and tail[-1] < 0.01
    straight = release_into_rests(audio, rests, spf, rate)
    assert (straight[-250:] == 1).all()  # without `circular` the end is an end


def test_a_regenerated_region_rests_as_a_new_take_would(tiny_prior_bundle):
    """A sparse take's redrawn region (e.g. a loop's seam) keeps the take's rests."""
    from sda.generate import regenerate_region

    bundle = tiny_prior_bundle
    stats = DescriptorStats.from_dict(bundle.meta["descriptor_stats"])
    take = generate(bundle, seconds=2.0, seed=3)
    start, end = 10, take.codes.frames - 10
    region = end - start
    redrawn = regenerate_region(
        bundle, take.codes, start, end, seed=5, candidates=2, controls={"density": 0.0}
    )
    rests = rest_frames(0.0, stats, region, float(bundle.codec.config.frame_rate), seed=5)
    assert rests.any() and not rests.all()
    silence = silence_column(bundle)
    assert (redrawn.indices[:, start:end][:, rests] == silence[:, None]).all()
    assert np.array_equal(redrawn.indices[:, :start], take.codes.indices[:, :start])
    busy = regenerate_region(bundle, take.codes, start, end, seed=5, candidates=2)
    assert not (busy.indices[:, start:end][:, rests] == silence[:, None]).all()

    def region(density):
        return regenerate_region(
            bundle, take.codes, start, end, seed=5, candidates=2, controls={"density": density}
        ).indices

    # a curve counts as its mean over a region, for the rests as for the conditioning
    assert np.array_equal(region([0.0, 0.2]), region(0.1))


def test_the_codes_of_silence_are_encoded_once_per_codec(tiny_prior_bundle, monkeypatch):
    import sda.generate.rests as rests

    bundle = tiny_prior_bundle
    spf = bundle.codec.config.samples_per_frame
    grid = prior_rows(bundle, encode_audio(bundle, np.zeros(4 * spf, dtype=np.float32)))
    first = silence_column(bundle)
    assert np.array_equal(first, grid[:, 2])
    monkeypatch.setattr(rests, "encode_audio", lambda *args: pytest.fail("encoded again"))
    first[:] = -7  # the caller's copy: the codec's own column stays
    assert np.array_equal(silence_column(bundle), grid[:, 2])
