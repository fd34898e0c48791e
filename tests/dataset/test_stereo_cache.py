"""Stereo reading for training: the streamed resampler on (2, n) blocks, stereo cache entries beside
the mono ones of the same file, and a stereo scan's audio equal to a whole-file stereo read."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sda.audio.dsp import resample
from sda.audio.io import load_audio
from sda.audio.stream import StreamResampler
from sda.dataset import AudioCache, load_available_audio, scan_folder
from sda.dataset.channels import choose_channels, parse_channels
from sda.errors import SdaError

SR = 48000


def test_streamed_stereo_resampling_equals_the_whole_signal_per_channel():
    rng = np.random.default_rng(3)
    signal = (rng.standard_normal((2, 44100 * 2 + 77)) * 0.1).astype(np.float32)
    whole = resample(signal, 44100, SR)
    resampler = StreamResampler.between_rates(44100, SR)
    parts = [resampler.push(signal[:, i : i + 9001]) for i in range(0, signal.shape[1], 9001)]
    parts.append(resampler.finish(whole.shape[1]))
    streamed = np.concatenate(parts, axis=-1)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, atol=1e-6)


def test_mono_and_stereo_entries_of_one_file_coexist(tmp_path):
    path = tmp_path / "a.wav"
    stereo = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 4800)).astype(np.float32)
    sf.write(path, stereo.T, SR, subtype="FLOAT")
    cache = AudioCache(tmp_path / "cache")
    assert cache.key(path, SR) == cache.key(path, SR, 1) != cache.key(path, SR, 2)
    cache.put(path, SR, {"kind": "mono"}, stereo.mean(axis=0))
    cache.put(path, SR, {"kind": "stereo"}, stereo, channels=2)
    np.testing.assert_array_equal(cache.get_audio(path, SR), stereo.mean(axis=0))
    mapped = cache.get_audio(path, SR, mmap=True, channels=2)
    assert isinstance(mapped, np.memmap) and mapped.shape == (2, 4800)
    np.testing.assert_array_equal(mapped, stereo)
    assert cache.get_info(path, SR)["kind"] == "mono"
    assert cache.get_info(path, SR, 2)["kind"] == "stereo"
    # a file cached for a mono run only is a miss for a stereo run (decoded again, not misread)
    other = tmp_path / "b.wav"
    sf.write(other, stereo[0], SR, subtype="FLOAT")
    cache.put(other, SR, {}, stereo[0])
    assert cache.get_audio(other, SR, channels=2) is None


def test_a_stereo_scan_caches_what_a_whole_stereo_read_gives(tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    rng = np.random.default_rng(1)
    stereo = (rng.standard_normal((44100 * 3, 2)) * 0.1).astype(np.float32)
    sf.write(folder / "wide.wav", stereo, 44100, subtype="FLOAT")
    sf.write(folder / "centre.wav", stereo[:48000, 0], SR, subtype="FLOAT")
    report = scan_folder(folder, cache_dir=tmp_path / "cache", channels=2, workers=2)
    assert report.channels == 2
    found = load_available_audio(report, mmap=True)
    by_name = dict(zip((e.path.name for e in found.entries), found.audio, strict=True))
    expected = load_audio(folder / "wide.wav", sample_rate=SR, channels=2)
    np.testing.assert_allclose(by_name["wide.wav"], expected, atol=1e-5)
    centre = by_name["centre.wav"]
    assert centre.shape == (2, 48000) and np.array_equal(centre[0], centre[1])


def test_the_layout_follows_most_of_the_seconds():
    assert choose_channels([(2, 10.0), (1, 9.0)]).channels == 2
    assert choose_channels([(2, 9.0), (1, 10.0)]).channels == 1
    assert choose_channels([(6, 5.0)]).channels == 2  # surround folds to stereo
    assert choose_channels([]).channels == 1
    assert choose_channels([(2, 10.0)], asked=1).channels == 1
    choice = choose_channels([(2, 3.0), (1, 1.0)])
    assert choice.line() == (
        "stereo (auto: 75 % of the usable audio, by seconds, is stereo); "
        "model.channels=1 trains a mono model instead"
    )
    assert parse_channels("AUTO") == "auto" and parse_channels(2) == 2
    with pytest.raises(SdaError, match="use auto, 1 .mono. or 2 .stereo."):
        parse_channels(3)


def test_a_stereo_scan_without_the_cache_reads_every_file_in_stereo(tmp_path):
    rng = np.random.default_rng(4)
    for name in ("a", "b"):
        sf.write(tmp_path / f"{name}.wav", rng.uniform(-0.5, 0.5, (4800, 2)), SR)
    sf.write(tmp_path / "mono.wav", rng.uniform(-0.5, 0.5, 4800), SR)
    report = scan_folder(tmp_path, sample_rate=SR, use_cache=False, channels=2)
    found = load_available_audio(report)
    assert not found.lost
    assert [audio.shape for audio in found.audio] == [(2, 4800)] * 3
    np.testing.assert_array_equal(found.audio[2][0], found.audio[2][1])  # mono: centred
