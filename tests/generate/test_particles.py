"""Candidates steered while drawn (`sda.generate.particles`): a choice every chunk, by the controls
the render cannot set, each chunk measured against the curve's value over it."""

import factories
import numpy as np
import pytest
import torch

from sda.audio.descriptors import CONTROL_NAMES, DescriptorStats, measure
from sda.dna.decode import decode_codes
from sda.generate import engine, generate, particles
from sda.generate.particles import ParticleSteering, steered_names
from sda.library import load_bundle, save_bundle

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# several prior windows, drawn whole (`test_take_halves`: steered takes in halves)
SETTINGS = dict(seconds=0.5, temperature=2.0, guidance=1.0, halves=False)


@pytest.fixture
def short_chunks(monkeypatch):
    """Chunks of 0.05 s: a tiny model's half-second take holds ten choices."""
    monkeypatch.setattr(particles, "CHUNK_SECONDS", 0.05)


def brightness_gap(bundle, codes, target: float) -> float:
    stats = DescriptorStats.from_dict(bundle.descriptor_stats)
    raw = measure(decode_codes(bundle.codec, codes), bundle.codec.config.sample_rate)
    scaled = stats.normalize(np.array([raw[name] for name in CONTROL_NAMES]))
    return abs(float(scaled[CONTROL_NAMES.index("brightness")]) - target)


def test_the_notes_controls_steer_when_asked_for_else_every_control():
    assert steered_names({"brightness": 0.2, "tension": 0.8, "density": 0.1}) == ["tension"]
    assert steered_names({"brightness": 0.2, "loudness": 0.4}) == ["brightness", "loudness"]


def test_choices_are_made_every_chunk_and_the_take_is_deterministic(
    tiny_prior_bundle, short_chunks, monkeypatch
):
    choices: list[int] = []
    real = ParticleSteering.closest

    def counted(self, grid, start, end, take_offset=0):
        choices.append(end - start)
        return real(self, grid, start, end, take_offset)

    monkeypatch.setattr(ParticleSteering, "closest", counted)
    controls = {"brightness": 0.9}
    take = generate(tiny_prior_bundle, seed=3, controls=controls, candidates=3, **SETTINGS)
    chunk = round(0.05 * tiny_prior_bundle.codec.config.frame_rate)
    assert len(choices) >= take.codes.frames // chunk - 1  # every chunk, and a last one
    assert all(size <= chunk for size in choices)
    again = generate(tiny_prior_bundle, seed=3, controls=controls, candidates=3, **SETTINGS)
    assert np.array_equal(take.codes.indices, again.codes.indices)
    record = take.codes.provenance["operations"][-1]["candidates"]
    assert record["count"] == 3 and record["distances"][record["chosen"]] == min(
        record["distances"]
    )


def test_a_steered_take_is_one_row_s_draw_across_windows(
    tiny_prior_bundle, short_chunks, monkeypatch
):
    """Rows chosen in a window carry the history before it: every window's drawn rows (its
    prompt and new frames) must appear whole in the take, with no row's tail spliced onto
    another's continuation (the engine once kept the history as drawn, not as chosen)."""
    windows: list[tuple[int, torch.Tensor]] = []
    real = engine.sample_window

    def recorded(prior, **options):
        out = real(prior, **options)
        prompt = options.get("prompt")
        windows.append((0 if prompt is None else prompt.shape[2], out))
        return out

    def varying(self, grid, start, end, take_offset=0):  # the tiny model's distances all tie
        return int(grid[:, :, start:end].sum(dim=(1, 2)).argmax())

    monkeypatch.setattr(engine, "sample_window", recorded)
    monkeypatch.setattr(ParticleSteering, "closest", varying)
    for seed in range(3):
        windows.clear()
        options = dict(SETTINGS, seconds=1.0)
        take = generate(tiny_prior_bundle, seed=seed, controls={"brightness": 0.9},
                        candidates=3, **options)  # fmt: skip
        assert len(windows) >= 3
        grid, done = np.asarray(take.codes.indices), 0
        for given, out in windows:
            span = grid[:, done - given : done - given + out.shape[2]]
            rows = out[:, :, : span.shape[1]].numpy()  # -1: left for the next window to draw
            assert any(np.array_equal(span[row >= 0], row[row >= 0]) for row in rows)
            done += out.shape[2] - given


@pytest.fixture(scope="module")
def audible_bundle(tmp_path_factory, tiny_training_audio):
    """A tiny codec + prior whose takes are audible: the shared tiny codec's are about -50 dBFS,
    so their brightness sits at the edge of the test range and, on some CPUs, below it, where
    every candidate measures 0 and steering has nothing to choose by."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        codec = factories.train_tiny_codec(tiny_training_audio, start_level=0.0)
        prior = factories.train_tiny_prior(codec, tiny_training_audio)
    finally:
        torch.set_num_threads(threads)
    folder = tmp_path_factory.mktemp("audible") / "audible"
    meta = {"descriptor_stats": factories.DESCRIPTOR_STATS}
    return load_bundle(save_bundle(folder, codec=codec, prior=prior, meta=meta))


def test_steering_brings_takes_closer_to_the_controls(audible_bundle, short_chunks):
    """Over a few seeds, steered takes measure closer to a brightness asked for than one take."""
    tiny_prior_bundle = audible_bundle
    gaps = {1: [], 4: []}
    for target in (0.1, 0.9):
        for seed in range(3):
            for count in gaps:
                codes = generate(
                    tiny_prior_bundle, seed=seed, controls={"brightness": target},
                    candidates=count, **SETTINGS,
                ).codes  # fmt: skip
                gaps[count].append(brightness_gap(tiny_prior_bundle, codes, target))
    assert np.mean(gaps[4]) < np.mean(gaps[1])


def test_a_chunk_is_measured_against_the_curve_over_its_own_frames(tiny_prior_bundle):
    stats = DescriptorStats.from_dict(tiny_prior_bundle.descriptor_stats)
    controls = {"brightness": [0.0, 1.0], "loudness": 0.3}
    steering = ParticleSteering(tiny_prior_bundle.codec, stats, controls, frames=101)
    assert steering.wanted(0, 10) == pytest.approx({"brightness": 0.045, "loudness": 0.3})
    assert steering.wanted(91, 101)["brightness"] == pytest.approx(0.955)
    assert steering.wanted(-5, 0)["brightness"] == 0.0  # a prompt's frames: the curve's start
    tension = ParticleSteering(tiny_prior_bundle.codec, stats, {"tension": 0.8, **controls}, 101)
    assert tension.wanted(0, 10) == {"tension": pytest.approx(0.8)}


def test_feedback_accumulates_the_gap_within_the_settings_range(tiny_prior_bundle, monkeypatch):
    """Integral feedback on tension: each chunk adds gain x (asked - measured) to what the prior
    is asked, bounded so the setting it is given stays within 0..1."""
    stats = DescriptorStats.from_dict(tiny_prior_bundle.descriptor_stats)
    steering = ParticleSteering(tiny_prior_bundle.codec, stats, {"tension": 0.6}, frames=101)
    plain = ParticleSteering(tiny_prior_bundle.codec, stats, {"brightness": 0.6}, frames=101)
    assert (
        steering.offsets == {"tension": 0.0} and plain.offsets == {}
    )  # the render sets brightness
    readings = iter([0.5, 0.3, 0.9, 0.1])
    monkeypatch.setattr(
        particles,
        "measured_controls",
        lambda audio, rate, names, stats: {"tension": next(readings)},
    )
    grid = torch.randint(0, 4, (1, tiny_prior_bundle.codec.config.num_levels, 40))
    asked = torch.zeros(1, 6)
    asked[0, CONTROL_NAMES.index("tension")] = 0.6
    given = []
    for _ in range(4):
        steering.closest(grid, 20, 40)
        given.append(float(steering.conditioned(asked)[0, CONTROL_NAMES.index("tension")]))
    gain = particles.FEEDBACK_GAIN
    first = 0.6 + gain * 0.1
    assert given[0] == pytest.approx(first)
    assert given[1] == pytest.approx(min(1.0, first + gain * 0.3))
    assert given[2] == pytest.approx(min(1.0, first + gain * 0.3) - gain * 0.3)
    assert 0.0 <= given[3] <= 1.0 and given[3] > given[2]


def test_one_take_asked_for_tension_is_fed_back(tiny_prior_bundle, short_chunks):
    take = generate(tiny_prior_bundle, seed=2, controls={"tension": 0.9}, **SETTINGS)
    step = take.codes.provenance["operations"][-1]
    assert "candidates" not in step and set(step["feedback"]) == {"tension"}
    assert -0.9 <= step["feedback"]["tension"] <= 0.1
    free = generate(tiny_prior_bundle, seed=2, controls={"brightness": 0.9}, **SETTINGS)
    assert "feedback" not in free.codes.provenance["operations"][-1]
