"""Loop points: a WAV `smpl` chunk written and read back exactly, other chunks kept; tags too."""

import struct

import numpy as np
import pytest

from sda.audio.io import load_audio, write_audio
from sda.audio.loop_points import (
    LoopPoints,
    LoopPointsError,
    loop_tags,
    mark_loop,
    read_loop_points,
    read_wav_loop_points,
    write_wav_loop_points,
)
from sda.audio.tags import read_tags, write_tags

RATE = 48_000


@pytest.fixture
def wav(tmp_path):
    audio = 0.3 * np.sin(2 * np.pi * 440 * np.arange(RATE // 2) / RATE)
    return write_audio(tmp_path / "take.wav", np.stack([audio, -audio]), RATE)


def _chunk_names(path) -> list[bytes]:
    data = path.read_bytes()
    names, position = [], 12
    while position + 8 <= len(data):
        name, size = struct.unpack("<4sI", data[position : position + 8])
        names.append(name)
        position += 8 + size + (size & 1)
    return names


def test_loop_points_read_back_exactly_and_the_audio_is_untouched(wav):
    before = load_audio(wav, channels=None)
    write_wav_loop_points(wav, LoopPoints(0, RATE // 2))
    assert read_wav_loop_points(wav) == [LoopPoints(0, RATE // 2)]
    np.testing.assert_array_equal(load_audio(wav, channels=None), before)
    assert _chunk_names(wav).count(b"smpl") == 1


def test_new_points_replace_old_ones_and_several_loops_fit(wav):
    write_wav_loop_points(wav, LoopPoints(0, 100))
    loops = [LoopPoints(10, 1000), LoopPoints(np.int64(2000), np.int64(5))]
    write_wav_loop_points(wav, loops)
    assert read_wav_loop_points(wav) == loops
    assert _chunk_names(wav).count(b"smpl") == 1


def test_tags_and_loop_points_live_together_in_either_order(wav):
    write_tags(wav, {"title": "loop one", "seed": "7"})
    write_wav_loop_points(wav, LoopPoints(5, 500))
    assert read_tags(wav)["title"] == "loop one"
    write_tags(wav, {"title": "loop two"})
    assert read_wav_loop_points(wav) == [LoopPoints(5, 500)]
    assert read_tags(wav)["title"] == "loop two"


def test_odd_sized_chunks_are_copied_with_their_pad_byte(wav):
    data = bytearray(wav.read_bytes())
    odd = b"junk" + struct.pack("<I", 3) + b"abc\0"
    data[12:12] = odd  # before fmt, as some editors put it
    data[4:8] = struct.pack("<I", len(data) - 8)
    wav.write_bytes(bytes(data))
    write_wav_loop_points(wav, LoopPoints(1, 2))
    assert wav.read_bytes()[12 : 12 + len(odd)] == odd
    assert read_wav_loop_points(wav) == [LoopPoints(1, 2)]
    assert load_audio(wav, channels=None).shape == (2, RATE // 2)


def test_a_wav_without_loops_has_none(wav):
    assert read_wav_loop_points(wav) == []


def test_loop_tags_for_other_formats_read_back(tmp_path):
    flac = write_audio(tmp_path / "take.flac", np.zeros(4800), RATE)
    tags = loop_tags(LoopPoints(0, 4800))
    assert tags == {"loopstart": "0", "looplength": "4800"}
    write_tags(flac, tags)
    read = read_tags(flac)
    assert (read["loopstart"], read["looplength"]) == ("0", "4800")


@pytest.mark.parametrize(
    "start, length",
    [(-1, 10), (0, 0), (1.5, 10), (0, "10")],
    ids=["negative", "empty", "fraction", "text"],
)
def test_unusable_points_are_refused(start, length):
    with pytest.raises(LoopPointsError, match="not usable"):
        LoopPoints(start, length)


def test_a_loop_past_the_end_is_refused_and_the_file_is_unchanged(wav):
    before = wav.read_bytes()
    with pytest.raises(LoopPointsError, match="past the end"):
        write_wav_loop_points(wav, LoopPoints(RATE // 4, RATE))
    assert wav.read_bytes() == before
    assert not list(wav.parent.glob(".*.tmp"))


def test_files_that_cannot_hold_a_smpl_chunk_are_refused(tmp_path, wav):
    flac = write_audio(tmp_path / "take.flac", np.zeros(4800), RATE)
    with pytest.raises(LoopPointsError, match="not a WAV"):
        write_wav_loop_points(flac, LoopPoints(0, 10))
    with pytest.raises(LoopPointsError, match="does not exist"):
        write_wav_loop_points(tmp_path / "missing.wav", LoopPoints(0, 10))
    with pytest.raises(LoopPointsError, match="No loop points"):
        write_wav_loop_points(wav, [])
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(wav.read_bytes()[:2000])
    with pytest.raises(LoopPointsError, match="damaged"):
        read_wav_loop_points(truncated)


def test_damaged_loop_points_are_reported(wav):
    write_wav_loop_points(wav, LoopPoints(0, 100))
    data = bytearray(wav.read_bytes())
    at = data.index(b"smpl") + 8 + 36 + 8  # the first loop's start
    data[at : at + 8] = struct.pack("<II", 50, 10)  # start after end
    wav.write_bytes(bytes(data))
    with pytest.raises(LoopPointsError, match="damaged loop points"):
        read_wav_loop_points(wav)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_mark_loop_uses_what_each_format_allows(tmp_path, suffix):
    path = write_audio(tmp_path / f"loop{suffix}", 0.1 * np.ones(4800), RATE)
    assert read_loop_points(path) is None
    mark_loop(path, LoopPoints(0, 4800))
    assert read_loop_points(path) == LoopPoints(0, 4800)
    if suffix == ".wav":
        assert read_wav_loop_points(path) == [LoopPoints(0, 4800)]
    else:
        assert read_tags(path)["looplength"] == "4800"


def test_mark_loop_refuses_what_cannot_carry_a_loop(tmp_path):
    aiff = write_audio(tmp_path / "loop.aiff", np.zeros(4800), RATE)
    with pytest.raises(LoopPointsError, match="cannot carry loop points"):
        mark_loop(aiff, LoopPoints(0, 10))
    with pytest.raises(LoopPointsError, match="does not exist"):
        mark_loop(tmp_path / "gone.flac", LoopPoints(0, 10))
    flac = write_audio(tmp_path / "loop.flac", np.zeros(4800), RATE)
    write_tags(flac, {"loopstart": "zero", "looplength": "10"})
    with pytest.raises(LoopPointsError, match="damaged loop tags"):
        read_loop_points(flac)
