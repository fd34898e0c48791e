"""Provenance tags in exported files (title, artist, album = model, comment, software, date), via mutagen.

WAV and MP3 carry ID3 frames, FLAC/OGG/Opus carry Vorbis comments. Keys beyond the standard ones
(e.g. "seed", "settings", "sources") are stored as custom fields (ID3 TXXX, or Vorbis comments of
that name) and read back under the same key.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sda import __version__
from sda.errors import SdaError

# our key -> ID3 frame id
_ID3_FRAMES = {
    "title": "TIT2",
    "artist": "TPE1",
    "album": "TALB",
    "software": "TSSE",
    "date": "TDRC",
}
# our key -> Vorbis comment field; the comment also goes to DESCRIPTION, which some players prefer
_VORBIS_FIELDS = {
    "title": "title",
    "artist": "artist",
    "album": "album",
    "comment": "comment",
    "software": "encoder",
    "date": "date",
}
STANDARD_KEYS = ("title", "artist", "album", "comment", "software", "date")
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class TagError(SdaError):
    """Tags that cannot be written to or read from a file."""


def default_tags() -> dict[str, str]:
    """The tags every export carries: the software that made it and today's date."""
    return {"software": f"sda {__version__}", "date": date.today().isoformat()}


def describe(
    *, seed: int | None = None, settings: dict | None = None, sources: list[str] | None = None
) -> str:
    """A one-line human-readable comment saying how a sound was made."""
    parts = []
    if seed is not None:
        parts.append(f"seed {seed}")
    if settings:
        parts.append("settings " + json.dumps(settings, sort_keys=True, default=str))
    if sources:
        parts.append("sources " + ", ".join(str(s) for s in sources))
    return "; ".join(parts)


def _normalise(tags: dict) -> dict[str, str]:
    clean = {}
    for key, value in tags.items():
        name = str(key).strip().lower()
        if not _KEY_PATTERN.match(name):
            raise TagError(
                f"Tag name {key!r} is not usable: use lowercase letters, digits and _ (max 32)."
            )
        if value is None:
            continue
        if isinstance(value, dict | list | tuple):
            value = json.dumps(value, sort_keys=True, default=str)
        clean[name] = str(value)
    return clean


def _open(path: Path):
    """The mutagen object for a file, chosen by its content rather than its name."""
    import mutagen
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    try:
        audio = mutagen.File(path, options=[WAVE, FLAC, OggVorbis, OggOpus, MP3])
    except (mutagen.MutagenError, OSError) as exc:
        raise TagError(f"Could not read tags of {path} ({exc}); is it an audio file?") from None
    if audio is None:
        raise TagError(f"{path} is not a WAV, FLAC, OGG or MP3 file, so it cannot hold sda's tags.")
    return audio


def _is_id3(audio) -> bool:
    from mutagen.mp3 import MP3
    from mutagen.wave import WAVE

    return isinstance(audio, WAVE | MP3)


def write_tags(path: str | Path, tags: dict) -> None:
    """Write tags into an existing audio file in place (call it on the temp file before publishing)."""
    import mutagen

    path = Path(path)
    tags = _normalise(tags)
    audio = _open(path)
    try:
        if _is_id3(audio):
            _write_id3(audio, tags)
        else:
            for key, value in tags.items():
                audio[_VORBIS_FIELDS.get(key, key)] = [value]
                if key == "comment":
                    audio["description"] = [value]
        audio.save()
    except (mutagen.MutagenError, OSError) as exc:
        raise TagError(f"Could not write tags to {path} ({exc}).") from None


def _write_id3(audio, tags: dict[str, str]) -> None:
    from mutagen import id3

    if audio.tags is None:
        audio.add_tags()
    frames = audio.tags
    for key, value in tags.items():
        if key in _ID3_FRAMES:
            frame_id = _ID3_FRAMES[key]
            frames.setall(frame_id, [getattr(id3, frame_id)(encoding=3, text=[value])])
        elif key == "comment":
            frames.setall("COMM", [id3.COMM(encoding=3, lang="eng", desc="", text=[value])])
        else:
            frames.delall(f"TXXX:{key}")
            frames.add(id3.TXXX(encoding=3, desc=key, text=[value]))


def read_tags(path: str | Path) -> dict[str, str]:
    """Read tags back as {key: text}; standard keys as in write_tags, custom fields by their name."""
    audio = _open(Path(path))
    if audio.tags is None:
        return {}
    out: dict[str, str] = {}
    if _is_id3(audio):
        for key, frame_id in _ID3_FRAMES.items():
            frame = audio.tags.get(frame_id)
            if frame is not None:
                out[key] = str(frame.text[0])
        comments = audio.tags.getall("COMM")
        if comments:
            out["comment"] = str(comments[0].text[0])
        for frame in audio.tags.getall("TXXX"):
            out[frame.desc.lower()] = str(frame.text[0])
        return out
    reverse = {field: key for key, field in _VORBIS_FIELDS.items()}
    for field, values in audio.tags.items():
        field = field.lower()
        if field == "description" or not values:
            continue
        out[reverse.get(field, field)] = values[0]
    if "comment" not in out and "description" in audio.tags:
        out["comment"] = audio.tags["description"][0]
    return out
