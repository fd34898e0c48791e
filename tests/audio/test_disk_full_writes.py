"""A full disk while writing a take or an export: one clear error that says "disk full: need ~N MB
at FOLDER", no partial file, and a file of the same name left as it was."""

from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple

import numpy as np
import pytest
import soundfile as sf

from sda.audio import io as audio_io
from sda.audio.export import ExportError, export_audio
from sda.audio.io import AudioFileError, write_audio

Usage = namedtuple("Usage", "total used free")
RATE = 48_000


def _noise(seconds: float = 2.0) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(int(RATE * seconds))).astype(np.float32)


def _fsync_fills_the_disk(monkeypatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(audio_io.os, "fsync", full)


def _free_space(monkeypatch, free: int) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(10**12, 10**12 - free, free))


def test_a_wav_too_big_for_the_disk_is_refused_before_writing(tmp_path, monkeypatch):
    _free_space(monkeypatch, 100_000)
    with pytest.raises(
        AudioFileError, match=rf"disk full: need ~\d MB at {tmp_path} \(1 MB free\)"
    ):
        write_audio(tmp_path / "take.wav", _noise(), RATE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["take.flac", "take.ogg", "take.wav"])
def test_a_disk_that_fills_while_writing_leaves_the_old_file(tmp_path, monkeypatch, name):
    target = write_audio(tmp_path / name, _noise(0.5), RATE)
    before = target.read_bytes()
    _fsync_fills_the_disk(monkeypatch)
    with pytest.raises(AudioFileError, match=r"disk full: need ~\d+ MB .*free some space"):
        write_audio(target, _noise(), RATE)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left


def test_libsndfile_system_error_on_a_full_disk_says_disk_full(tmp_path, monkeypatch):
    # libsndfile reports a full disk as a bare "System error."; the room left tells them apart
    def system_error(self, data) -> None:
        raise RuntimeError("System error.")

    monkeypatch.setattr(sf.SoundFile, "write", system_error)
    with pytest.raises(AudioFileError, match="could not be written \\(System error.\\)"):
        write_audio(tmp_path / "take.flac", _noise(), RATE)  # plenty of room: another problem
    _free_space(monkeypatch, 10_000)
    with pytest.raises(AudioFileError, match=r"disk full: need ~\d MB"):
        write_audio(tmp_path / "take.flac", _noise(), RATE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_export_on_a_full_disk_says_so_and_saves_nothing(tmp_path, monkeypatch, fmt):
    _fsync_fills_the_disk(monkeypatch)
    with pytest.raises(ExportError) as caught:
        export_audio(_noise(), tmp_path / "take", format=fmt)
    message = str(caught.value)
    assert "disk full: need ~" in message and str(tmp_path) in message
    assert "Free some space" in message and "Traceback" not in message
    assert list(tmp_path.iterdir()) == []
