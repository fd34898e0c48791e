"""sda.audio.io: round trips for every format/subtype we support, layouts, and plain-words errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from sda.audio.io import (
    AUDIO_EXTENSIONS,
    AudioFileError,
    convert_channels,
    decode_audio,
    load_audio,
    load_audio_with_rate,
    write_audio,
)
from sda.errors import SdaError

SR = 48000


def _tone(seconds: float = 0.5, channels: int = 2, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)
    right = 0.25 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right][:channels]).astype(np.float32)  # (channels, samples)


LOSSLESS = [
    ("wav", "PCM_16", 1e-4),
    ("wav", "PCM_24", 1e-6),
    ("wav", "PCM_32", 1e-8),
    ("wav", "FLOAT", 0.0),
    ("flac", "PCM_16", 1e-4),
    ("flac", "PCM_24", 1e-6),
    ("aiff", "PCM_16", 1e-4),
    ("aiff", "PCM_24", 1e-6),
    ("aif", "FLOAT", 0.0),
]


@pytest.mark.parametrize(("ext", "subtype", "tolerance"), LOSSLESS)
def test_lossless_round_trip(tmp_path, ext, subtype, tolerance):
    audio = _tone()
    path = write_audio(tmp_path / f"tone.{ext}", audio, SR, subtype=subtype)
    decoded = decode_audio(path)
    assert decoded.subtype == subtype
    assert decoded.sample_rate == SR and decoded.audio.dtype == np.float32
    assert decoded.audio.shape == audio.shape
    assert np.max(np.abs(decoded.audio - audio)) <= tolerance
    assert not decoded.truncated


@pytest.mark.parametrize("ext", ["ogg", "opus", "mp3"])
def test_lossy_round_trip_keeps_layout_and_sound(tmp_path, ext):
    audio = _tone(1.0)
    path = write_audio(tmp_path / f"tone.{ext}", audio, SR)
    back, rate = load_audio_with_rate(path)
    assert rate == SR and back.shape[0] == 2 and back.dtype == np.float32
    assert abs(back.shape[1] - audio.shape[1]) < 0.05 * SR
    n = min(back.shape[1], audio.shape[1])
    # Codecs delay the signal a little, so compare energy rather than samples.
    for channel in range(2):
        rms_in = np.sqrt(np.mean(audio[channel, :n] ** 2))
        rms_out = np.sqrt(np.mean(back[channel, :n] ** 2))
        assert rms_out == pytest.approx(rms_in, rel=0.15)


def test_default_subtypes(tmp_path):
    assert decode_audio(write_audio(tmp_path / "a.wav", _tone(), SR)).subtype == "PCM_24"
    assert decode_audio(write_audio(tmp_path / "a.flac", _tone(), SR)).subtype == "PCM_24"
    assert decode_audio(write_audio(tmp_path / "a.opus", _tone(), SR)).subtype == "OPUS"


def test_extensions_cover_contract():
    assert {".wav", ".aif", ".aiff", ".flac", ".ogg", ".opus", ".mp3"} == AUDIO_EXTENSIONS


def test_load_audio_converts_rate_and_channels(tmp_path):
    path = write_audio(tmp_path / "cd.wav", _tone(1.0, sr=44100), 44100)
    mono = load_audio(path)
    assert mono.shape == (1, SR) and mono.dtype == np.float32
    stereo = load_audio(path, channels=2)
    assert stereo.shape == (2, SR)
    native = load_audio(path, sample_rate=None, channels=None)
    assert native.shape == (2, 44100)


def test_channel_conversion_rules():
    mono = np.ones((1, 10), np.float32)
    assert convert_channels(mono, 2).shape == (2, 10)
    six = np.arange(6, dtype=np.float32)[:, None] * np.ones((6, 4), np.float32)
    folded = convert_channels(six, 2)
    assert folded[:, 0].tolist() == [2.0, 3.0]  # mean of 0,2,4 and of 1,3,5
    assert convert_channels(six, 1)[0, 0] == pytest.approx(2.5)
    assert convert_channels(six, None) is six
    with pytest.raises(ValueError):
        convert_channels(six, 3)


def test_writes_mono_1d_and_unicode_name(tmp_path):
    path = write_audio(tmp_path / "ünïcødé 音.wav", _tone(channels=1)[0], SR)
    assert load_audio(path, channels=None).shape == (1, SR // 2)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "x.wav"
    write_audio(path, _tone(), SR)
    write_audio(path, _tone() * 0.5, SR)  # overwrite in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.wav"]


def test_new_files_get_the_umask_like_any_other_file(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_audio(tmp_path / "x.flac", _tone(), SR)
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # not the 0o600 of a private temp file


def test_integer_codes_are_written_as_they_are(tmp_path):
    """What `export_audio` hands over after its own dither: every code lands in the file."""
    codes = np.arange(-3000, 3000, dtype=np.int32)[None] * 1000  # (1, samples) 24-bit values
    path = write_audio(tmp_path / "x.wav", codes << 8, SR, subtype="PCM_24")
    assert np.array_equal(sf.read(path, dtype="int32")[0] >> 8, codes[0])
    short = np.array([[-32768, -1, 0, 1, 32767]], np.int16)
    path = write_audio(tmp_path / "x.flac", short, SR, subtype="PCM_16")
    assert np.array_equal(sf.read(path, dtype="int16")[0], short[0])


def test_tags_are_in_the_file_when_it_appears(tmp_path):
    from sda.audio.tags import read_tags

    path = write_audio(tmp_path / "t.flac", _tone(), SR, tags={"title": "drone", "seed": 3})
    assert read_tags(path)["title"] == "drone" and read_tags(path)["seed"] == "3"


def test_without_overwrite_an_existing_file_is_never_replaced(tmp_path):
    path = write_audio(tmp_path / "x.wav", _tone(), SR)
    before = path.read_bytes()
    with pytest.raises(AudioFileError, match="already exists"):
        write_audio(path, _tone() * 0.5, SR, overwrite=False)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["x.wav"]


def test_integer_subtypes_clip_instead_of_wrapping(tmp_path):
    loud = np.array([[0.5, 1.7, -3.0, 0.2]], np.float32)
    back = load_audio(write_audio(tmp_path / "hot.wav", loud, SR), sample_rate=None)
    assert back.max() <= 1.0 and back.min() >= -1.0 and back[0, 1] > 0.99
    kept = load_audio(write_audio(tmp_path / "hot.flac", loud, SR, subtype=None), sample_rate=None)
    assert kept[0, 2] < -0.99


def test_write_refusals_are_audio_file_errors(tmp_path):
    with pytest.raises(AudioFileError, match="NaN"):
        write_audio(tmp_path / "nan.wav", np.array([0.0, np.nan], np.float32), SR)
    with pytest.raises(AudioFileError, match="extension"):
        write_audio(tmp_path / "x.xyz", _tone(), SR)
    with pytest.raises(AudioFileError, match="Opus"):
        write_audio(tmp_path / "x.opus", _tone(), 44100)
    assert not any(tmp_path.iterdir())


def _bad_files(folder):
    good = write_audio(folder / "good.wav", _tone(0.2), SR)
    data = good.read_bytes()
    (folder / "random.wav").write_bytes(os.urandom(4000))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "header.wav").write_bytes(data[:44])
    (folder / "text.wav").write_text("these are my notes, not audio\n" * 20)
    (folder / "dir.wav").mkdir()
    return {
        "random.wav": "not audio",
        "empty.wav": "empty",
        "header.wav": "header only",
        "text.wav": "text file",
        "dir.wav": "folder",
        "missing.wav": "not found",
    }


def test_bad_files_raise_one_error_type_with_plain_reasons(tmp_path):
    for name, words in _bad_files(tmp_path).items():
        with pytest.raises(AudioFileError) as caught:
            load_audio(tmp_path / name)
        error = caught.value
        assert isinstance(error, SdaError)
        assert error.path.name == name and name in str(error)
        assert words in error.reason, (name, error.reason)


def test_truncated_wav_keeps_audio_and_says_so(tmp_path):
    good = write_audio(tmp_path / "good.wav", _tone(1.0), SR)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[: 44 + 2 * 3 * SR // 2])  # half of the 24-bit stereo data
    decoded = decode_audio(cut)
    assert decoded.truncated
    assert decoded.audio.shape[1] == pytest.approx(SR // 2, abs=2)


def test_truncated_flac_keeps_what_decodes(tmp_path):
    good = write_audio(
        tmp_path / "good.flac", np.random.default_rng(0).uniform(-0.5, 0.5, (1, 4 * SR)), SR
    )
    cut = tmp_path / "cut.flac"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    decoded = decode_audio(cut)
    assert decoded.truncated and 0 < decoded.audio.shape[1] < 4 * SR


def test_float_file_keeps_values_above_full_scale(tmp_path):
    audio = np.array([[0.0, 2.5, -4.0]], np.float32)
    path = tmp_path / "float.wav"
    sf.write(path, audio.T, SR, subtype="FLOAT")
    assert load_audio(path, sample_rate=None).tolist() == audio.tolist()


def test_long_vorbis_write_does_not_crash(tmp_path):
    # One long write made libvorbis overflow the C stack (a segfault, not an exception).
    audio = np.zeros((2, 48000 * 120), np.float32)
    audio[:, ::100] = 0.1
    path = write_audio(tmp_path / "long.ogg", audio, SR)
    assert sf.info(path).frames == audio.shape[1]


def test_a_sound_read_whole_is_refused_past_the_cap_with_the_way_out(tmp_path, monkeypatch):
    from sda.audio.io import AudioFileError, load_audio, write_audio

    path = tmp_path / "field.wav"
    write_audio(path, np.zeros(3 * 48_000, np.float32), 48_000)
    monkeypatch.setenv("SDA_MAX_READ_MINUTES", "0.02")  # 1.2 s
    with pytest.raises(AudioFileError, match="field.wav.*at most 0.02 minutes.*SDA_MAX_READ_MIN"):
        load_audio(path)
    monkeypatch.setenv("SDA_MAX_READ_MINUTES", "0.1")  # 6 s: it fits
    assert load_audio(path).shape == (1, 3 * 48_000)
