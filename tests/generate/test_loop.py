"""Seamless loops from the tiny real model: exact lengths, seams that pass, loop points."""

import numpy as np
import pytest

from sda.audio.io import load_audio, write_audio
from sda.audio.loop_points import read_wav_loop_points, write_wav_loop_points
from sda.audio.seam import measure_seam
from sda.audio.stereo_field import stereo_field
from sda.dna.decode import decode_codes
from sda.generate import GenerationError, generate
from sda.generate.loop import generate_loop, make_loop, seamless_grid
from sda.generate.loop_cut import loop_audio
from sda.generate.loop_length import LoopError, loop_length

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bundle(tiny_prior_bundle):
    return tiny_prior_bundle


def _length(bundle, **settings):
    config = bundle.codec.config
    return loop_length(
        sample_rate=config.sample_rate, samples_per_frame=config.samples_per_frame, **settings
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_loop_flows_from_its_end_into_its_start(bundle, seed):
    length = _length(bundle, seconds=0.5)
    loop = generate_loop(bundle, length, seed=seed, temperature=1.5)
    assert loop.audio.shape == (length.samples,) and loop.audio.dtype == np.float32
    assert loop.seam.passed, loop.seam
    assert measure_seam(loop.audio, loop.sample_rate) == loop.seam
    take = generate(bundle, seconds=length.seconds, seed=seed, temperature=1.5)
    assert not measure_seam(take.audio, take.sample_rate).passed  # a plain take does not loop


def test_a_tempo_fitted_loop_is_exact_to_the_sample(bundle):
    length = _length(bundle, bars=1, bpm=333, beats_per_bar=3)
    assert length.samples != length.frames * bundle.codec.config.samples_per_frame
    loop = generate_loop(bundle, length, seed=4)
    assert len(loop.audio) == length.samples and loop.seam.passed, loop.seam


@pytest.mark.parametrize("seed", [0, 1])
def test_a_steered_loop_comes_joined_as_drawn_and_loops(bundle, seed, monkeypatch):
    """Tension steers each half's candidates; the halves run on into each other's start and
    nothing is rotated or redrawn afterwards, yet the loop is exact to the sample (tempo-fitted)
    and its seam passes."""
    from sda.generate import particles

    monkeypatch.setattr(particles, "CHUNK_SECONDS", 0.05)
    length = _length(bundle, bars=1, bpm=160, beats_per_bar=3)
    assert length.samples != length.frames * bundle.codec.config.samples_per_frame
    loop = generate_loop(
        bundle, length, seed=seed, controls={"tension": 0.8}, candidates=3, temperature=1.5
    )
    operations = [step["op"] for step in loop.codes.provenance["operations"]]
    assert operations == ["generate", "loop"]
    assert loop.codes.provenance["operations"][0]["joined"] >= 1
    assert len(loop.audio) == length.samples and loop.seam.passed, loop.seam


def test_only_the_join_is_redrawn(bundle):
    take = generate(bundle, seconds=0.3, seed=5, temperature=1.5)
    codes = take.codes
    grid = seamless_grid(bundle, codes, seed=5, seam_frames=20, temperature=1.5)
    rotated = np.roll(codes.indices, -(codes.frames // 2), axis=1)
    join = codes.frames - codes.frames // 2
    kept = np.ones(codes.frames, dtype=bool)
    kept[join - 10 : join + 10] = False
    np.testing.assert_array_equal(grid.indices[:, kept], rotated[:, kept])
    assert [step["op"] for step in grid.provenance["operations"]][-2:] == ["rotate", "regenerate"]


def test_the_same_seed_makes_the_same_loop(bundle):
    take = generate(bundle, seconds=0.3, seed=6)
    first, again = make_loop(bundle, take.codes, seed=6), make_loop(bundle, take.codes, seed=6)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.codes.provenance["operations"][-1]["op"] == "loop"


def test_loop_points_are_written_and_read_back_exactly(bundle, tmp_path):
    loop = generate_loop(bundle, _length(bundle, seconds=0.4), seed=7)
    path = write_audio(tmp_path / "loop.wav", loop.audio, loop.sample_rate)
    write_wav_loop_points(path, loop.points)
    assert read_wav_loop_points(path) == [loop.points]
    assert loop.points.start == 0 and loop.points.length == len(loop.audio)
    assert load_audio(path, channels=None).shape[-1] == len(loop.audio)


def test_a_loop_in_wide_moving_stereo_still_loops(bundle):
    loop = generate_loop(bundle, _length(bundle, seconds=0.5), seed=8)
    stereo = stereo_field(loop.audio, loop.sample_rate, width=0.8, movement=1.0, loop=True)
    assert measure_seam(stereo, loop.sample_rate).passed


def test_impossible_loops_are_refused(bundle, tiny_bundle):
    short = generate(bundle, seconds=0.02, seed=0).codes  # a handful of frames
    with pytest.raises(LoopError, match="at least 16 code frames"):
        make_loop(bundle, short)
    codes = generate(bundle, seconds=0.3, seed=0).codes
    with pytest.raises(LoopError, match="cannot be cut"):
        loop_audio(bundle.codec, codes, 2 * len(generate(bundle, seconds=0.3).audio))
    with pytest.raises(LoopError, match="seam must be"):
        seamless_grid(bundle, codes, seam_frames=codes.frames)
    with pytest.raises(GenerationError, match="no prior"):
        make_loop(tiny_bundle, codes)


def test_a_loop_can_start_at_a_chosen_frame(bundle):
    take = generate(bundle, seconds=0.4, seed=9, temperature=1.5)
    grid = seamless_grid(bundle, take.codes, seed=9)
    spf, rate = bundle.codec.config.samples_per_frame, bundle.codec.config.sample_rate
    middle = grid.frames // 2
    cut = loop_audio(bundle.codec, grid, grid.frames * spf, start_frame=middle)
    loop, seam = cut.audio, cut.seam
    decoded = decode_codes(bundle.codec, grid)  # played once: the middle has full context
    radius = round(0.001 * rate)  # the start moves at most 1 ms, to a zero crossing
    start = middle * spf
    offsets = [
        shift
        for shift in range(-radius, radius + 1)
        if np.allclose(loop[:1000], decoded[start + shift : start + shift + 1000], atol=1e-4)
    ]
    assert offsets and seam == measure_seam(loop, rate)


@pytest.mark.parametrize("slip", [-57, 57])
def test_a_tempo_fitted_drone_loops_through_a_stereo_field_too(bundle, slip):
    """A sustained tone cut half a frame off its period would slip at the seam; it is cut only
    where the slip stays hidden, else stretched (a pitch change within half a frame's worth)."""
    import factories

    from sda.dna.codec_bridge import encode_audio

    drone = factories.synth_sound("drone", seconds=0.6, seed=2)
    codes = encode_audio(bundle, drone)
    codes = codes.with_indices(np.roll(codes.indices, -(codes.frames // 2), axis=1))
    period = codes.frames * bundle.codec.config.samples_per_frame
    rate = bundle.codec.config.sample_rate
    cut = loop_audio(bundle.codec, codes, period + slip)
    assert cut.audio.shape == (period + slip,) and cut.seam.passed
    assert 0 < abs(cut.pitch_cents) <= abs(1200 * np.log2(period / (period + slip))) + 1e-9
    stereo = stereo_field(cut.audio, rate, width=1.0, movement=1.0, loop=True)
    assert measure_seam(stereo, rate).passed


def test_a_sparse_loop_rests_in_silence_and_still_loops(bundle):
    length = _length(bundle, seconds=1.5)
    loop = generate_loop(bundle, length, seed=2, controls={"density": 0.0})
    assert loop.seam.passed, loop.seam
    spf = bundle.codec.config.samples_per_frame
    quiet = np.abs(loop.audio).reshape(-1, spf).max(axis=1) == 0.0  # whole frames of silence
    assert quiet.any() and not quiet.all()
