"""Generation engine: lengths, valid indices, determinism, guidance, continuation, regions, bad input."""

import math
from dataclasses import asdict

import factories
import numpy as np
import pytest
import torch

from sda.dna.codes import Codes, CodesError
from sda.dna.decode import decode_codes
from sda.generate import GenerationError, generate, generate_codes, regenerate_region
from sda.generate.rests import resting_frames
from sda.library.bundle import Bundle
from sda.models.codec import Codec, CodecConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bundle(tiny_prior_bundle) -> Bundle:
    return tiny_prior_bundle


def other_codec(bundle) -> Codec:
    torch.manual_seed(123)
    return Codec(CodecConfig.from_dict(asdict(bundle.codec.config))).eval()


def test_requested_length_and_valid_indices(bundle):
    take = generate(bundle, seconds=0.5, seed=0)  # several prior windows
    codes = take.codes
    frame_rate = bundle.codec.config.frame_rate
    assert codes.frames == math.ceil(0.5 * frame_rate)
    assert codes.levels == bundle.codec.config.num_levels and codes.bundle_id == bundle.id
    assert codes.indices.min() >= 0 and codes.indices.max() < bundle.codec.config.codebook_size
    audio = take.audio  # decoded once, at the decoded level (this bundle records no level)
    assert audio.shape == (codes.frames * bundle.codec.config.samples_per_frame,)
    assert audio.dtype == np.float32 and np.isfinite(audio).all()
    np.testing.assert_array_equal(audio, decode_codes(bundle.codec, codes))
    assert take.sample_rate == bundle.codec.config.sample_rate
    assert take.provenance["operations"][-1]["op"] == "generate"


def test_a_long_take_draws_as_many_columns_as_one_window_would(bundle, monkeypatch):
    """Windows hand the upper levels of their last frames to the next window, which draws them
    in columns it runs anyway: a take of several windows draws frames + levels - 1 columns, as
    one long window would, not levels - 1 more per window."""
    prior = bundle.prior
    calls: list[int] = []
    real = prior.forward_columns

    def counted(tokens, condition, **options):
        calls.append(tokens.shape[2])
        return real(tokens, condition, **options)

    monkeypatch.setattr(prior, "forward_columns", counted)
    frames, levels = 3 * prior.config.context_frames, prior.config.num_levels
    codes = generate_codes(bundle, seconds=frames / bundle.codec.config.frame_rate, seed=2)
    windows = sum(1 for count in calls if count > 1)  # each window's first call: the prefill
    assert windows >= 3  # the first window has no prefill: it starts at the start column
    assert len(calls) == frames + levels - 1
    assert codes.frames == frames and int(np.asarray(codes.indices).min()) >= 0


def test_fixed_seed_gives_identical_output(bundle):
    settings = dict(seconds=0.3, temperature=0.8, top_k=8, top_p=0.9, controls={"warmth": 0.3})
    first = generate(bundle, seed=5, guidance=2.0, **settings).codes
    again = generate(bundle, seed=5, guidance=2.0, **settings).codes
    assert np.array_equal(first.indices, again.indices)
    hot = dict(seconds=0.3, temperature=2.0)  # the tiny prior is peaked: let seeds show
    assert not np.array_equal(
        generate(bundle, seed=5, **hot).codes.indices, generate(bundle, seed=6, **hot).codes.indices
    )
    assert first.provenance["operations"][-1]["seed"] == 5
    # the codes alone (a loop renders its own audio) are the take's codes, not decoded
    alone = generate_codes(bundle, seed=5, guidance=2.0, **settings)
    assert np.array_equal(alone.indices, first.indices) and alone.provenance == first.provenance


def test_guidance_zero_equals_unconditional(bundle):
    free = generate(bundle, seconds=0.3, seed=3).codes
    ignored = generate(
        bundle, seconds=0.3, seed=3, guidance=0.0, controls={"brightness": 0.9}
    ).codes
    assert np.array_equal(free.indices, ignored.indices)


def test_candidates_keep_the_take_closest_to_the_controls(bundle):
    from sda.audio.descriptors import DescriptorStats
    from sda.generate.steering import control_distance, measured_controls
    from sda.generate.tone import set_tone

    # drawn whole: the candidates' record of one grid (`test_take_halves` covers halves)
    settings = dict(seconds=0.4, seed=7, temperature=2.0, guidance=1.0, halves=False)
    target = {"brightness": 0.1}
    take = generate(bundle, controls=target, candidates=4, **settings)
    chosen = take.codes
    again = generate(bundle, controls=target, candidates=4, **settings).codes
    assert np.array_equal(chosen.indices, again.indices)
    record = chosen.provenance["operations"][-1]["candidates"]
    assert record["count"] == 4 and len(record["distances"]) == 4
    assert record["distances"][record["chosen"]] == min(record["distances"])
    # a take shorter than a steering chunk is chosen whole: the recorded distance is what the
    # kept grid measures, and the take is that grid's decode, EQ'd to the setting
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    audio = decode_codes(bundle.codec, chosen)
    np.testing.assert_array_equal(take.audio, set_tone(bundle, audio, target))
    rate = bundle.codec.config.sample_rate
    measured = control_distance(measured_controls(audio, rate, list(target), stats), target)
    assert measured == pytest.approx(min(record["distances"]), abs=1e-4)
    # one candidate is plain generation; controls left unset leave nothing to choose by
    single = generate(bundle, controls=target, candidates=1, **settings).codes
    assert "candidates" not in single.provenance["operations"][-1]
    free = generate(bundle, candidates=4, **settings).codes
    assert np.array_equal(free.indices, generate(bundle, **settings).codes.indices)


def test_render_sets_the_level_to_the_loudness_control(bundle):
    from sda.audio.descriptors import DescriptorStats, measure
    from sda.generate import render
    from sda.generate.loudness_range import loudness_db, loudness_range_db
    from sda.generate.render import PEAK_CEILING, SILENCE_DBFS, loudness_gain_db

    codes = generate(bundle, seconds=0.4, seed=2).codes
    plain = decode_codes(bundle.codec, codes)
    np.testing.assert_array_equal(render(bundle, codes), plain)
    # density alone sets neither level nor tone: a take without rests plays as decoded
    sounding = factories.without_rests(bundle, codes)
    assert not resting_frames(bundle, sounding).any()
    as_decoded = decode_codes(bundle.codec, sounding)
    np.testing.assert_array_equal(render(bundle, sounding, {"density": 0.9}), as_decoded)
    rate = bundle.codec.config.sample_rate
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    # What holds for every tiny model: its takes are very quiet (training seeds 0..4 peaked at
    # -53..-63 dBFS), may be silence on some machine, and silence is never raised.
    if np.abs(plain).max() <= 10.0 ** (SILENCE_DBFS / 20.0):
        np.testing.assert_array_equal(render(bundle, codes, {"loudness": 0.6}), plain)
        return
    # every target is reached (RMS dB, as the control measures it) unless the -1 dBFS ceiling
    # stops the gain first; a quiet take is raised as far as asked, with no gain cap
    levels = []
    for target in (0.2, 0.4, 0.6):
        audio = render(bundle, codes, {"loudness": target})
        peak = np.abs(audio).max()
        assert peak <= PEAK_CEILING + 1e-6
        level = measure(audio, rate)["loudness"]
        wanted = loudness_db(target, stats)
        assert level == pytest.approx(wanted, abs=0.5) or peak == pytest.approx(PEAK_CEILING)
        levels.append(level)
    assert levels[0] < levels[1] <= levels[2]
    # a gain is a gain: the waveform keeps its shape
    quiet = render(bundle, codes, {"loudness": 0.2})
    audible = np.abs(plain) > 0.01 * np.abs(plain).max()  # relative: the take may be very quiet
    ratio = quiet[audible] / plain[audible]
    assert np.allclose(ratio, ratio[0], rtol=1e-4)
    assert loudness_gain_db(np.zeros(4800, np.float32), rate, 0.9, stats) == 0.0
    # a curve is a gain envelope in dB: 0.2 -> 0.3 over the take rises by a tenth of the range
    rising = render(bundle, codes, {"loudness": [0.2, 0.3]})
    gain_db = 20 * np.log10(np.abs(rising[[0, -1]]) / np.abs(plain[[0, -1]]))
    low, high = loudness_range_db(stats)
    span = high - low
    assert gain_db[1] - gain_db[0] == pytest.approx(0.1 * span, abs=0.01)


def test_candidates_need_descriptor_statistics(bundle):
    bare = Bundle(path=None, meta={}, config={}, codec=bundle.codec, prior=bundle.prior)
    with pytest.raises(GenerationError, match="descriptor statistics"):
        generate(bare, seconds=0.2, controls={"loudness": 0.5}, candidates=2)


def test_continuation_keeps_the_prompt(bundle):
    prompt = generate(bundle, seconds=0.2, seed=1).codes
    take = generate(bundle, seconds=0.3, seed=2, prompt=prompt, include_prompt=True)
    whole = take.codes
    assert np.array_equal(whole.indices[:, : prompt.frames], prompt.indices)
    new = generate(bundle, seconds=0.3, seed=2, prompt=prompt).codes
    assert np.array_equal(new.indices, whole.indices[:, prompt.frames :])
    np.testing.assert_array_equal(take.audio, decode_codes(bundle.codec, whole))  # all of it


def test_windowed_decoding_matches_whole_decoding(bundle):
    codes = generate(bundle, seconds=0.5, seed=4).codes
    whole = decode_codes(bundle.codec, codes)
    windowed = decode_codes(bundle.codec, codes, window_frames=48, overlap_frames=12)
    assert np.abs(windowed - whole).max() < 0.1 * np.abs(whole).max()
    assert decode_codes(bundle.codec, codes, levels=1).shape == whole.shape


def test_regenerate_changes_only_the_region(bundle):
    codes = generate(bundle, seconds=0.5, seed=0).codes
    # hotter than plain: the tiny prior is so sure of itself that a plain redraw of 20 frames
    # can give back the same cells
    new = regenerate_region(bundle, codes, 20, 40, seed=1, candidates=3, temperature=1.5)
    again = regenerate_region(bundle, codes, 20, 40, seed=1, candidates=3, temperature=1.5)
    assert np.array_equal(new.indices, again.indices)
    assert np.array_equal(new.indices[:, :20], codes.indices[:, :20])
    assert np.array_equal(new.indices[:, 40:], codes.indices[:, 40:])
    assert not np.array_equal(new.indices[:, 20:40], codes.indices[:, 20:40])
    tail = regenerate_region(bundle, codes, 0, codes.frames, seed=2)  # whole grid, no sides
    assert tail.frames == codes.frames
    # one provenance step, with the sampling settings that made it
    hot = regenerate_region(bundle, codes, 20, 40, seed=1, temperature=1.5, top_k=8)
    steps = hot.provenance["operations"]
    assert len(steps) == len(codes.provenance["operations"]) + 1
    assert steps[-1]["op"] == "regenerate" and (steps[-1]["start"], steps[-1]["end"]) == (20, 40)
    assert (steps[-1]["seed"], steps[-1]["temperature"], steps[-1]["top_k"]) == (1, 1.5, 8)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"seconds": 0}, "seconds"),
        ({"seconds": -1}, "seconds"),
        ({"seconds": 601}, "seconds"),
        ({"seconds": float("nan")}, "seconds"),
        ({"temperature": 0}, "temperature"),
        ({"top_p": 1.5}, "top-p"),
        ({"controls": {"brightness": 1.5}}, "between 0 and 1"),
        ({"controls": {"sparkle": 0.5}}, "unknown control 'sparkle'"),
        ({"candidates": 0}, "candidates"),
        ({"candidates": 17}, "candidates"),
    ],
)
def test_bad_settings_get_one_clear_message(bundle, settings, message):
    with pytest.raises(GenerationError, match=message):
        generate(bundle, **{"seconds": 1.0, **settings})


def test_models_from_different_runs_are_refused(bundle):
    mixed = Bundle(path=None, meta={}, config={}, codec=other_codec(bundle), prior=bundle.prior)
    with pytest.raises(GenerationError, match="different runs"):
        generate(mixed, seconds=0.3)
    no_prior = Bundle(path=None, meta={}, config={}, codec=bundle.codec, prior=None)
    with pytest.raises(GenerationError, match="no prior"):
        generate(no_prior, seconds=0.3)
    levels, size = bundle.codec.config.num_levels, bundle.codec.config.codebook_size
    foreign = Codes(np.zeros((levels, 4), np.int32), "0" * 16, 46.875, size)
    with pytest.raises(GenerationError, match="the prompt's codes were made by model 0000"):
        generate(bundle, seconds=0.3, prompt=foreign)
    coarse = Codes(np.zeros((1, 4), np.int32), bundle.id, 46.875, size)
    with pytest.raises(GenerationError, match=f"has {levels} levels .* needs all of them"):
        generate(bundle, seconds=0.3, prompt=coarse)
    empty = Codes(np.zeros((levels, 0), np.int32), bundle.id, 46.875, size)
    with pytest.raises(GenerationError, match="the prompt is empty"):
        generate(bundle, seconds=0.3, prompt=empty)
    with pytest.raises(CodesError):
        decode_codes(bundle.codec, foreign)
    with pytest.raises(GenerationError, match="these codes were made by model 0000"):
        regenerate_region(bundle, foreign, 0, 2, seed=0)
    with pytest.raises(GenerationError, match="region"):
        regenerate_region(bundle, generate(bundle, seconds=0.1).codes, 5, 500, seed=0)


def test_cli_writes_tagged_takes(tiny_library_root, tmp_path):
    from typer.testing import CliRunner

    from sda.audio.io import load_audio, write_audio
    from sda.cli import app

    args = ["generate", "tiny-prior", "--library", str(tiny_library_root), "--seconds", "0.2"]
    args += ["--count", "2", "--seed", "7", "--brightness", "0.8", "-o", str(tmp_path)]
    args += ["--format", "flac", "--channels", "stereo"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*.flac"))
    assert [p.name for p in written] == ["tiny-prior-seed7.flac", "tiny-prior-seed8.flac"]
    assert load_audio(written[0], channels=None).shape[0] == 2
    import mutagen

    tags = mutagen.File(written[0])
    assert tags["seed"] == ["7"] and "brightness" in tags["settings"][0]
    again = CliRunner().invoke(app, args)  # never overwrites unless asked
    assert "already exists" in str(again.exception)
    wav = tmp_path / "prompt.wav"
    write_audio(wav, load_audio(written[0], channels=1), 48_000)
    args = ["generate", "tiny-prior", "--library", str(tiny_library_root), "--seconds", "0.1"]
    more = ["--prompt", str(wav), "--loudness", "0.2:0.8", "--format", "flac"]
    result = CliRunner().invoke(app, [*args, *more, "-o", str(tmp_path / "more")])
    assert result.exit_code == 0, result.output  # continues the prompt, rising in level
    tags = mutagen.File(next((tmp_path / "more").glob("*.flac")))
    assert '"loudness": [0.2, 0.8]' in tags["settings"][0]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--seconds", "0"], "seconds"),
        (["--temperature", "0"], "temperature"),
        (["--tension", "2"], "between 0 and 1"),
        (["--density", "0.2:x"], "not a number"),
        (["--count", "0"], "count"),
        (["--format", "aiff"], "format"),
        (["--prompt", "missing.sdacodes"], "no such file"),
    ],
)
def test_cli_bad_options_are_refused_before_work(tiny_library_root, tmp_path, option, message):
    from typer.testing import CliRunner

    from sda.cli import app
    from sda.errors import SdaError

    args = ["generate", "tiny-prior", "--library", str(tiny_library_root), "-o", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, *option])
    assert isinstance(result.exception, SdaError)
    assert message in str(result.exception)
    assert not list(tmp_path.iterdir())


def test_control_curves_move_over_the_take(bundle):
    from sda.generate.curves import keyframes, plain_control, sample_curve
    from sda.generate.engine import control_tensors, window_controls

    assert keyframes("density", "0.1:0.9") == [0.1, 0.9] == keyframes("density", [0.1, 0.9])
    assert plain_control(0.5) == 0.5 and plain_control("0.2:0.4:0.2") == [0.2, 0.4, 0.2]
    assert np.allclose(sample_curve([0.0, 1.0, 0.0], 5), [0, 0.5, 1, 0.5, 0])
    values, mask = control_tensors({"density": [0.0, 1.0], "warmth": 0.3}, batch=2, frames=11)
    assert values.shape == (2, 11, 6) and mask[0].tolist() == [0, 1, 0, 0, 1, 0]
    assert (
        torch.allclose(values[0, :, 4], torch.linspace(0, 1, 11)) and (values[..., 1] == 0.3).all()
    )
    assert control_tensors({"density": [0.2, 0.6]})[0][0, 4] == pytest.approx(
        0.4
    )  # no frames: mean
    # ... over the take, as the curve sounds (the ends of a rise and fall count half), not the
    # keyframes' plain mean (0.3 here)
    rise_and_fall = control_tensors({"density": [0.0, 0.6, 0.6, 0.0]})[0][0, 4]
    assert rise_and_fall == pytest.approx(0.4) and float(rise_and_fall) == pytest.approx(
        sample_curve([0.0, 0.6, 0.6, 0.0], 100_001).mean(), abs=1e-4
    )
    assert control_tensors({"density": [0.0, 0.9, 0.9]})[0][0, 4] == pytest.approx(0.675)
    part = window_controls(values, -2, 6)  # a window starting 2 frames into a prompt
    assert torch.equal(part[:, :2], values[:, :1].expand(-1, 2, -1))
    assert torch.equal(part[:, 2:], values[:, :4])
    # a flat curve is the constant control; a real curve gives another take, recorded as such
    settings = dict(seconds=0.5, seed=4, guidance=3.0, temperature=1.5)  # several windows
    flat = generate(bundle, controls={"brightness": [0.7, 0.7]}, **settings).codes
    assert np.array_equal(
        flat.indices, generate(bundle, controls={"brightness": 0.7}, **settings).codes.indices
    )
    rising = generate(bundle, controls={"brightness": "0:1"}, candidates=2, **settings).codes
    assert rising.frames == flat.frames and not np.array_equal(rising.indices, flat.indices)
    assert rising.provenance["operations"][-1]["controls"] == {"brightness": [0.0, 1.0]}


@pytest.mark.parametrize(
    ("value", "message"),
    [("0.1:x", "not a number"), ([0.2, 1.4], "between 0 and 1"), ([], "keyframes")],
)
def test_bad_curves_get_one_clear_message(bundle, value, message):
    with pytest.raises(GenerationError, match=message):
        generate(bundle, seconds=0.2, controls={"density": value})
