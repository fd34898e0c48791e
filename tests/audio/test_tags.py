"""Provenance tags written and read back in every export format."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sda.audio.tags import TagError, default_tags, describe, read_tags, write_tags

FORMATS = {  # extension -> (soundfile format, subtype)
    ".wav": ("WAV", "PCM_24"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def _audio_file(folder, ext):
    path = folder / f"clip{ext}"
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48_000)
    container, subtype = FORMATS[ext]
    sf.write(path, tone.astype(np.float32), 48_000, subtype=subtype, format=container)
    return path


TAGS = {
    "title": "Glass drone — take 3",
    "artist": "Ana Müller",
    "album": "glass-bells (model)",
    "comment": describe(seed=42, settings={"temperature": 0.9}, sources=["a.wav", "b.flac"]),
    "software": "sda 0.1.0",
    "date": "2025-03-14",
    "seed": 42,
    "settings": {"temperature": 0.9, "top_k": None},
}


@pytest.mark.parametrize("ext", list(FORMATS))
def test_tags_round_trip(tmp_path, ext):
    path = _audio_file(tmp_path, ext)
    write_tags(path, TAGS)
    back = read_tags(path)
    for key in ("title", "artist", "album", "comment", "software", "date"):
        assert back[key] == TAGS[key], key
    assert back["seed"] == "42"
    assert back["settings"] == '{"temperature": 0.9, "top_k": null}'
    assert sf.info(path).frames > 0  # still a playable file


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_rewriting_replaces_old_values(tmp_path, ext):
    path = _audio_file(tmp_path, ext)
    write_tags(path, {"title": "first", "comment": "one"})
    write_tags(path, {"title": "second", "comment": "two"})
    back = read_tags(path)
    assert back["title"] == "second" and back["comment"] == "two"


def test_untagged_file_reads_empty(tmp_path):
    assert read_tags(_audio_file(tmp_path, ".wav")) == {}


def test_describe_and_defaults():
    text = describe(seed=7, settings={"b": 1, "a": 2}, sources=["x.wav"])
    assert text == 'seed 7; settings {"a": 2, "b": 1}; sources x.wav'
    assert describe() == ""
    defaults = default_tags()
    assert defaults["software"].startswith("sda ") and len(defaults["date"]) == 10


def test_bad_inputs_give_clear_errors(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(TagError, match="notes.wav"):
        write_tags(text, {"title": "x"})
    with pytest.raises(TagError, match="Tag name"):
        write_tags(_audio_file(tmp_path, ".flac"), {"bad key!": "x"})
