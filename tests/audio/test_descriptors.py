"""Each descriptor moves the right way on synthesized signals; stats normalise and round-trip."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from sda.audio.descriptors import (
    CONTROL_NAMES,
    DescriptorStats,
    aggregate,
    analyse,
    measure,
    measure_tension,
)

RATE = 48_000
SECONDS = 1.5


@pytest.fixture
def noise() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(int(RATE * SECONDS)).astype(np.float32) * 0.1


def _filtered(audio: np.ndarray, hz: float, kind: str) -> np.ndarray:
    return sosfilt(butter(4, hz, kind, fs=RATE, output="sos"), audio).astype(np.float32)


def _chord(*hz: float) -> np.ndarray:
    t = np.arange(int(RATE * SECONDS)) / RATE
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in hz).astype(np.float32)


def _hits(per_second: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    audio = np.zeros(int(RATE * SECONDS), dtype=np.float32)
    decay = np.exp(-np.arange(2000) / 300.0)
    for start in np.arange(0.05, SECONDS - 0.05, 1.0 / per_second):
        i = int(start * RATE)
        audio[i : i + 2000] += (rng.standard_normal(2000) * decay * 0.5).astype(np.float32)
    return audio


def test_brighter_noise_is_brighter_and_less_warm(noise):
    dark, bright = (
        measure(_filtered(noise, 800, "low"), RATE),
        measure(_filtered(noise, 3000, "high"), RATE),
    )
    assert bright["brightness"] > dark["brightness"] + 1.0  # more than an octave
    assert dark["warmth"] > bright["warmth"] + 20.0


def test_noise_is_rougher_than_a_tone(noise):
    assert measure(noise, RATE)["roughness"] > measure(_chord(440.0), RATE)["roughness"] + 20.0


def test_dissonant_intervals_have_more_tension():
    fifth, octave = measure(_chord(440.0, 660.0), RATE), measure(_chord(440.0, 880.0), RATE)
    minor_second = measure(_chord(440.0, 466.2), RATE)
    cluster = measure(_chord(440.0, 466.2, 493.9, 523.3), RATE)
    assert minor_second["tension"] > 5 * max(fifth["tension"], octave["tension"], 1e-3)
    assert cluster["tension"] > minor_second["tension"]


@pytest.mark.parametrize("seconds", [0.01, 1.0, SECONDS])
def test_tension_alone_measures_what_the_whole_analysis_does(noise, seconds):
    # the steering's shortcut: the same value, including a clip longer than one analysis block
    clips = [_chord(440.0, 466.2), noise, _hits(6.0), np.tile(_chord(330.0, 349.2), 6)]
    for clip in clips:
        clip = clip[: int(RATE * seconds)] if seconds < SECONDS else clip
        assert measure_tension(clip, RATE) == pytest.approx(
            measure(clip, RATE)["tension"], rel=1e-9
        )
    stereo = np.stack([noise, _chord(440.0, 466.2)])
    assert measure_tension(stereo, RATE) == pytest.approx(
        measure(stereo, RATE)["tension"], rel=1e-9
    )


def test_more_hits_per_second_means_more_density():
    sparse, dense = measure(_hits(2.0), RATE)["density"], measure(_hits(8.0), RATE)["density"]
    assert sparse == pytest.approx(2.0, abs=0.8)
    assert dense == pytest.approx(8.0, abs=1.5)


def test_louder_is_louder_by_the_gain(noise):
    quiet, loud = measure(noise * 0.1, RATE)["loudness"], measure(noise, RATE)["loudness"]
    assert loud - quiet == pytest.approx(20.0, abs=0.1)


def test_silence_and_tiny_clips_give_finite_values():
    for audio in (
        np.zeros(RATE, np.float32),
        np.zeros(10, np.float32),
        np.ones((2, 300), np.float32),
    ):
        assert all(np.isfinite(v) for v in measure(audio, RATE).values())


def test_aggregate_reads_a_chunk_of_the_whole_analysis(noise):
    dark, bright = _filtered(noise, 800, "low"), _filtered(noise, 3000, "high")
    bright *= np.sqrt(
        (dark**2).mean() / (bright**2).mean()
    )  # equal level: only the edge frames mix
    audio = np.concatenate([dark, bright])
    frames = analyse(audio, RATE)
    half = len(noise)
    first, second = aggregate(frames, 0, half), aggregate(frames, half, 2 * half)
    assert second[0] > first[0] + 1.0
    whole_first = np.array([measure(audio[:half], RATE)[name] for name in CONTROL_NAMES])
    assert first[0] == pytest.approx(whole_first[0], abs=0.1)


def test_stats_normalise_to_unit_range_and_round_trip():
    values = np.random.default_rng(2).normal(size=(200, len(CONTROL_NAMES))) * 5 + 10
    stats = DescriptorStats.fit(values)
    normed = stats.normalize(values)
    assert normed.min() == 0.0 and normed.max() == 1.0
    assert 0.4 < np.median(normed) < 0.6
    again = DescriptorStats.from_dict(stats.to_dict())
    assert again == stats
    assert list(stats.to_dict()) == list(CONTROL_NAMES)
    inside = np.clip(values[:5], stats.low, stats.high)
    np.testing.assert_allclose(stats.denormalize(stats.normalize(inside)), inside)
    constant = DescriptorStats.fit(np.ones((10, len(CONTROL_NAMES))))
    assert np.isfinite(constant.normalize(np.ones(len(CONTROL_NAMES)))).all()


def test_tension_on_every_fourth_frame_estimates_the_full_measure(noise):
    # steering's estimate (sda.generate.steering.TENSION_STRIDE): close to the full value and
    # in the same order from calm to tense
    clips = [_chord(440.0, 880.0), _chord(440.0, 660.0), _hits(6.0), noise, _chord(440.0, 466.2)]
    full = [measure_tension(clip, RATE) for clip in clips]
    strided = [measure_tension(clip, RATE, stride=4) for clip in clips]
    assert np.argsort(full).tolist() == np.argsort(strided).tolist()
    for want, got in zip(full, strided, strict=True):
        assert got == pytest.approx(want, rel=0.1, abs=1e-4)
