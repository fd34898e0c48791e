"""Loop lengths: seconds round to whole frames, bars at a tempo are exact; one message each."""

import pytest

from sda.generate.loop_length import LoopError, loop_length

CODEC = dict(sample_rate=48_000, samples_per_frame=1024)  # the real codec: 46.875 frames/s


def test_free_seconds_round_to_whole_code_frames():
    length = loop_length(seconds=4.0, **CODEC)
    assert length.frames == 188 and length.samples == 188 * 1024
    assert abs(length.seconds - 4.0) <= 0.5 / 46.875
    assert length.describe() == f"{length.seconds:.3f} s ({length.samples} samples)"


def test_bars_at_a_tempo_are_exact_to_the_sample():
    length = loop_length(bars=2, bpm=120, **CODEC)
    assert length.samples == 192_000 and length.seconds == 4.0
    assert length.frames == round(192_000 / 1024)
    assert abs(length.samples - length.frames * 1024) <= 512
    assert length.describe() == "2 bars at 120 bpm = 4.000 s (192000 samples)"
    waltz = loop_length(bars=1, bpm=90, beats_per_bar=3, **CODEC)
    assert waltz.samples == 96_000 and "1 bar of 3 beats at 90 bpm" in waltz.describe()


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(seconds=4.0, bars=2, bpm=120), "not both"),
        (dict(seconds=4.0, bpm=120), "not both"),
        (dict(), "needs a length"),
        (dict(bars=2), "--bars needs --bpm"),
        (dict(bpm=120), "--bpm needs --bars"),
        (dict(bars=2, bpm=0), "not a usable tempo"),
        (dict(bars=2, bpm=-90), "not a usable tempo"),
        (dict(bars=2, bpm=1000), "not a usable tempo"),
        (dict(bars=2, bpm=float("nan")), "not a usable tempo"),
        (dict(bars=0, bpm=120), "--bars must be more than 0"),
        (dict(bars=-1, bpm=120), "--bars must be more than 0"),
        (dict(bars=1, bpm=120, beats_per_bar=0), "beats per bar"),
        (dict(seconds=0), "--seconds must be a positive"),
        (dict(seconds=0.1), "shorter than this model's shortest loop"),
        (dict(bars=1, bpm=400, beats_per_bar=1), "shorter than this model's shortest loop"),
        (dict(seconds=601), "longer than 600 s"),
    ],
)
def test_each_mistake_gets_one_clear_message(settings, message):
    with pytest.raises(LoopError, match=message):
        loop_length(**settings, **CODEC)
