"""Decoded-audio cache: hits, misses on change, damaged entries, no pickle, and scans that use it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import sda.dataset.scan as scan_module
from sda.audio.io import write_audio
from sda.dataset import AudioCache, default_cache_dir, load_usable_audio, scan_folder

SR = 48000


def _wav(path, seconds=0.5, seed=0):
    audio = np.random.default_rng(seed).uniform(-0.5, 0.5, (1, int(seconds * SR)))
    return write_audio(path, audio.astype(np.float32), SR)


def test_put_and_get(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    path = _wav(tmp_path / "a.wav")
    assert cache.get_info(path, SR) is None and cache.get_audio(path, SR) is None
    audio = np.arange(10, dtype=np.float32)
    cache.put(path, SR, {"seconds": 0.5}, audio)
    assert cache.get_info(path, SR) == {"seconds": 0.5}
    assert np.array_equal(cache.get_audio(path, SR), audio)
    mapped = cache.get_audio(path, SR, mmap=True)
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, audio)
    assert cache.get_audio(path, 44100) is None  # another target rate is another entry


def test_changed_file_is_a_miss(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    path = _wav(tmp_path / "a.wav")
    cache.put(path, SR, {"n": 1}, np.zeros(3, np.float32))
    _wav(path, seconds=0.6, seed=1)  # new size and mtime
    assert cache.get_info(path, SR) is None
    cache.put(path, SR, {"n": 2}, np.zeros(3, np.float32))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: same size
    assert cache.get_info(path, SR) is None


def test_missing_source_file_is_a_miss(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    assert cache.get_info(tmp_path / "gone.wav", SR) is None
    assert cache.get_audio(tmp_path / "gone.wav", SR) is None


def test_damaged_and_pickled_entries_are_refused(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    path = _wav(tmp_path / "a.wav")
    cache.put(path, SR, {"n": 1}, np.zeros(3, np.float32))
    key = cache.key(path, SR)
    audio_file = cache.root / key[:2] / f"{key}.npy"
    info_file = audio_file.with_suffix(".json")
    np.save(audio_file, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    assert cache.get_audio(path, SR) is None  # object arrays need pickle: never loaded
    np.save(audio_file, np.zeros((2, 3), np.float32))
    assert cache.get_audio(path, SR) is None  # wrong shape
    audio_file.write_bytes(b"garbage")
    assert cache.get_audio(path, SR) is None
    info_file.write_text("{not json")
    assert cache.get_info(path, SR) is None


def test_clear_and_default_dir(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    path = _wav(tmp_path / "a.wav")
    cache.put(path, SR, {}, np.zeros(3, np.float32))
    cache.clear()
    assert cache.get_info(path, SR) is None
    assert default_cache_dir().name == "audio" and "sda" in str(default_cache_dir())
    AudioCache(tmp_path / "never-created").clear()


def test_unwritable_cache_only_costs_speed(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    cache = AudioCache(blocker)
    path = _wav(tmp_path / "a.wav")
    cache.put(path, SR, {"n": 1}, np.zeros(3, np.float32))  # must not raise
    assert cache.get_info(path, SR) is None


def test_second_scan_reads_the_cache_not_the_files(tmp_path, monkeypatch):
    folder = tmp_path / "audio"
    for i in range(3):
        _wav(folder / f"{i}.wav", seed=i)
    (folder / "bad.wav").write_bytes(b"not audio at all, just bytes" * 10)
    first = scan_folder(folder, cache_dir=tmp_path / "cache")

    def no_decoding(path, *args, **kwargs):
        raise AssertionError(f"decoded {path} again")

    monkeypatch.setattr(scan_module, "measure_file", no_decoding)
    second = scan_folder(folder, cache_dir=tmp_path / "cache")
    assert second.files == first.files
    arrays = load_usable_audio(second)
    assert [len(a) for a in arrays] == [SR // 2] * 3


def test_load_without_cache_decodes(tmp_path):
    folder = tmp_path / "audio"
    _wav(folder / "a.wav")
    report = scan_folder(folder, use_cache=False)
    assert report.cache_dir is None
    (audio,) = load_usable_audio(report)
    assert audio.shape == (SR // 2,) and audio.dtype == np.float32


def test_file_changed_to_garbage_after_scan_is_a_clear_error(tmp_path):
    folder = tmp_path / "audio"
    path = _wav(folder / "a.wav")
    report = scan_folder(folder, cache_dir=tmp_path / "cache")
    path.write_bytes(b"")
    with pytest.raises(scan_module.DatasetError, match="scan the folder again"):
        load_usable_audio(report)


def test_a_cache_disk_too_full_for_a_file_is_noted_and_training_still_reads_it(
    tmp_path, monkeypatch
):
    import sda.disk_full as disk_full_module

    folder = tmp_path / "audio"
    _wav(folder / "a.wav", seconds=1.0)
    monkeypatch.setattr(disk_full_module, "free_bytes", lambda path: 1000)  # known size, no room
    report = scan_folder(folder, cache_dir=tmp_path / "cache")
    assert report.files[0].usable
    (note,) = report.notes
    assert note.startswith("disk full: need ~") and str(tmp_path / "cache") in note
    assert "decoded again for training" in note
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing half written
    (audio,) = load_usable_audio(report)  # decoded into memory instead
    assert audio.shape == (SR,)


def test_a_disk_that_fills_up_mid_write_leaves_no_partial_entry(tmp_path, monkeypatch):
    import errno

    import sda.dataset.cache as cache_module

    folder = tmp_path / "audio"
    _wav(folder / "a.wav", seconds=1.0)

    def full(self, block):
        self._fail(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(cache_module.AudioEntryWriter, "write", full)
    report = scan_folder(folder, cache_dir=tmp_path / "cache")
    assert report.files[0].usable and "disk full" in report.notes[0]
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.suffix in (".npy", ".tmp")]
    assert AudioCache(tmp_path / "cache").get_info(folder / "a.wav", SR) is not None  # the facts


def test_cache_usage_and_clear_count_leftovers(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    path = _wav(tmp_path / "a.wav")
    cache.put(path, SR, {"n": 1}, np.zeros(1000, np.float32))
    key = cache.key(path, SR)
    (cache.root / key[:2] / f".{key}.npy.abc.tmp").write_bytes(b"x" * 300)  # a crash mid-write
    (cache.root / "README").write_text("not an entry")
    usage = cache.usage()
    assert (usage.files, usage.leftovers, usage.leftover_bytes) == (2, 1, 300)
    assert usage.bytes == 4128 + len(json.dumps({"n": 1}))
    removed = cache.clear()
    assert removed == usage and cache.usage().total_bytes == 0
    assert (cache.root / "README").exists()  # only cache entries are removed
