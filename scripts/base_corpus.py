"""Build the base codec's training corpus from free Debian sound packages, with a manifest.

    python scripts/base_corpus.py [--cache ~/.cache/sda-corpus] [--out ~/.cache/sda-corpus/audio]

Every package is fetched with `apt-get download` and unpacked with `dpkg -x` into the cache
(nothing is installed; no audio enters the repository). The corpus is mono 48 kHz FLAC:
whole samples and sound effects, excerpts of music tracks, and the General MIDI soundfont rendered
note by note with fluidsynth. Files the benchmarks score on (experiments/dev_sets.py's drums and
textures) and an `unseen` set (some LMMS samples and two Warzone 2100 tracks) are kept out, so the
base is measured on sound it never heard. A package that cannot be had is reported and skipped.
The manifest (package, version, licences, files, seconds) goes to sda/assets/base_corpus.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))
sys.path.insert(0, str(REPO))

from dev_sets import (  # noqa: E402
    LMMS,
    SONIC_PI,
    WARZONE,
    audio_files,
    drum_files,
    lmms_sounds,
    texture_files,
    unseen_lmms,
    unseen_warzone,
)

from sda.audio.io import AudioFileError, decode_audio, write_audio  # noqa: E402

RATE = 48000
PACKAGES = (
    "sonic-pi-samples",
    "lmms-common",
    "warzone2100-music",
    "supertuxkart-data",
    "openttd-opensfx",
    "fluid-soundfont-gm",
)
MAX_SAMPLE_SECONDS = 20.0  # longer samples and effects are cut here
EXCERPT_SECONDS = 20.0  # music tracks give excerpts of this length
GM_PITCHES = (40, 60, 76)
GM_VELOCITIES = (60, 112)
NOTE_SECONDS, GAP_SECONDS = 1.5, 0.7


@dataclass
class PackageRecord:
    package: str
    version: str = ""
    licences: list[str] = field(default_factory=list)
    files: int = 0
    seconds: float = 0.0
    note: str = ""


# --- fetching ------------------------------------------------------------------------------------
def unpack(package: str, cache: Path) -> Path | None:
    """The package's unpacked tree in the cache, fetched if needed; None when it cannot be had."""
    tree = cache / package
    if tree.is_dir():
        return tree
    debs = cache / ".deb"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{package}_*.deb")):
        done = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True)
        if done.returncode != 0:
            print(f"  {package}: apt-get download failed ({done.stderr.decode()[-200:].strip()})")
            return None
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    partial = cache / f"{package}.tmp"
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(["dpkg", "-x", str(deb), str(partial)], check=True)
    partial.rename(tree)
    return tree


def describe(package: str, cache: Path, tree: Path) -> PackageRecord:
    """Version from the .deb's control data, licences from the package's copyright file."""
    record = PackageRecord(package)
    deb = sorted((cache / ".deb").glob(f"{package}_*.deb"))
    if deb:
        done = subprocess.run(["dpkg-deb", "-f", str(deb[-1]), "Version"], capture_output=True)
        record.version = done.stdout.decode().strip()
    copyright_file = tree / "usr/share/doc" / package / "copyright"
    if copyright_file.is_file():
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
        names = {m.strip() for m in re.findall(r"^License:[ \t]*(\S[^\n]*)$", text, re.M)}
        if "MIT license" in text or "Permission is hereby granted" in text:
            names.add("MIT")
        record.licences = sorted(names)
    return record


# --- sources -------------------------------------------------------------------------------------
def mono(path: Path) -> np.ndarray | None:
    """48 kHz mono float32, or None for a file that does not decode."""
    from sda.audio.dsp import resample

    try:
        decoded = decode_audio(path)
    except AudioFileError as error:
        print(f"  skipped {path.name}: {error}")
        return None
    audio = decoded.audio.mean(axis=0)
    if decoded.sample_rate != RATE:
        audio = resample(audio[None], decoded.sample_rate, RATE)[0]
    return audio.astype(np.float32)


def excerpts(audio: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` EXCERPT_SECONDS pieces spread evenly over a long track."""
    size = int(EXCERPT_SECONDS * RATE)
    if len(audio) <= size:
        return [audio]
    starts = np.linspace(0, len(audio) - size, count + 2)[1:-1].astype(int)
    return [audio[s : s + size] for s in starts]


def kept_out(cache: Path) -> set[Path]:
    """Files the benchmarks score on: the dev sets' drums, textures and unseen files."""
    samples = cache / SONIC_PI
    return set(drum_files(samples) + texture_files(samples)) | set(
        unseen_lmms(cache / LMMS) + unseen_warzone(cache / WARZONE)
    )


def opensfx_sounds(tree: Path, scratch: Path) -> list[Path]:
    """OpenTTD's sample.cat: a table of (offset, size) pairs, each entry a name then a WAV."""
    cat = next(tree.rglob("opensfx.cat"), None)
    if cat is None:
        return []
    data = cat.read_bytes()
    first = struct.unpack("<I", data[:4])[0] & 0x7FFFFFFF
    paths = []
    for index in range(first // 8):
        offset, size = struct.unpack("<II", data[index * 8 : index * 8 + 8])
        offset &= 0x7FFFFFFF
        name_length = data[offset]
        wav = data[offset + 1 + name_length : offset + 1 + name_length + size]
        if wav[:4] == b"RIFF":
            path = scratch / f"opensfx_{index:03d}.wav"
            path.write_bytes(wav)
            paths.append(path)
    return paths


# --- the General MIDI soundfont, note by note -------------------------------------------------
def _variable_length(value: int) -> bytes:
    out = [value & 0x7F]
    while value := value >> 7:
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


def note_midi(program: int | None, notes: list[tuple[int, int]], ticks_per_second: int) -> bytes:
    """A one-track standard MIDI file playing `notes` (pitch, velocity) one after another;
    `program` None plays them on the drum channel."""
    channel = 9 if program is None else 0
    on = int(NOTE_SECONDS * ticks_per_second)
    off = int(GAP_SECONDS * ticks_per_second)
    events = b"\x00\xff\x51\x03\x0f\x42\x40"  # tempo: 1 s per quarter note
    if program is not None:
        events += bytes([0x00, 0xC0 | channel, program])
    for pitch, velocity in notes:
        events += bytes([0x00, 0x90 | channel, pitch, velocity])
        events += _variable_length(on) + bytes([0x80 | channel, pitch, 0])
        events += _variable_length(off) + b"\xff\x01\x00"  # a silent marker keeps the gap
    events += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_second)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def render_soundfont(soundfont: Path, scratch: Path) -> list[tuple[str, np.ndarray]]:
    """Every GM program at GM_PITCHES x GM_VELOCITIES, and the drum kit's hits, as named notes."""
    if shutil.which("fluidsynth") is None:
        print("  fluidsynth is missing (apt-get install fluidsynth): soundfont skipped")
        return []
    plays = [
        (program, [(p, v) for p in GM_PITCHES for v in GM_VELOCITIES]) for program in range(128)
    ]
    plays.append((None, [(p, v) for p in range(35, 82) for v in GM_VELOCITIES]))
    step = int((NOTE_SECONDS + GAP_SECONDS) * RATE)
    notes = []
    for program, sequence in plays:
        midi, wav = scratch / "notes.mid", scratch / "notes.wav"
        midi.write_bytes(note_midi(program, sequence, ticks_per_second=480))
        command = ["fluidsynth", "-ni", "-q", "-r", str(RATE), "-g", "0.5", "-F", str(wav)]
        subprocess.run([*command, str(soundfont), str(midi)], check=True, capture_output=True)
        audio = decode_audio(wav).audio.mean(axis=0)
        name = "drums" if program is None else f"program{program:03d}"
        for index, (pitch, velocity) in enumerate(sequence):
            note = audio[index * step : (index + 1) * step]
            if note.size and np.abs(note).max() > 1e-3:  # some drum keys are empty
                notes.append((f"gm_{name}_p{pitch}_v{velocity}", note.astype(np.float32)))
    return notes


# --- assembling ----------------------------------------------------------------------------------
def package_sounds(package: str, tree: Path, cache: Path, scratch: Path):
    """(name, audio) pairs of one package, benchmark files kept out."""
    excluded = kept_out(cache)
    if package == "fluid-soundfont-gm":
        soundfont = next(tree.rglob("*.sf2"), None)
        yield from render_soundfont(soundfont, scratch) if soundfont else []
        return
    if package == "openttd-opensfx":
        files = opensfx_sounds(tree, scratch)
    elif package == "lmms-common":
        files = lmms_sounds(cache / LMMS)
    else:
        files = audio_files(tree / "usr/share")
    for path in files:
        if path in excluded:
            continue
        audio = mono(path)
        if audio is None or not audio.size:
            continue
        long_track = package in ("warzone2100-music", "supertuxkart-data") and "music" in str(path)
        if long_track:
            pieces = excerpts(audio, count=3 if package == "warzone2100-music" else 2)
        else:
            pieces = [audio[: int(MAX_SAMPLE_SECONDS * RATE)]]
        for index, piece in enumerate(pieces):
            yield f"{path.stem}_{index}" if len(pieces) > 1 else path.stem, piece


def build(cache: Path, out: Path) -> list[PackageRecord]:
    records = []
    for package in PACKAGES:
        print(f"{package}:")
        tree = unpack(package, cache)
        if tree is None:
            records.append(PackageRecord(package, note="missing: apt-get download failed"))
            continue
        record = describe(package, cache, tree)
        folder = out / package
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with tempfile.TemporaryDirectory() as scratch:
            for name, audio in package_sounds(package, tree, cache, Path(scratch)):
                safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
                target = folder / f"{safe}.flac"
                if target.exists():
                    target = folder / f"{safe}_{record.files}.flac"
                write_audio(target, audio, RATE, subtype="PCM_16")
                record.files += 1
                record.seconds += len(audio) / RATE
        record.seconds = round(record.seconds, 1)
        print(f"  {record.files} files, {record.seconds / 60:.1f} min")
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/sda-corpus")
    parser.add_argument("--out", type=Path, default=None, help="default: CACHE/audio")
    parser.add_argument("--manifest", type=Path, default=REPO / "sda/assets/base_corpus.json")
    args = parser.parse_args()
    out = args.out or args.cache / "audio"
    records = build(args.cache, out)
    manifest = {
        "sample_rate": RATE,
        "channels": 1,
        "kept_out": "experiments/dev_sets.py: drums, textures and unseen",
        "packages": [record.__dict__ for record in records],
        "files": sum(r.files for r in records),
        "seconds": round(sum(r.seconds for r in records), 1),
    }
    args.manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{manifest['files']} files, {manifest['seconds'] / 3600:.2f} h -> {out}")
    print(f"manifest: {args.manifest}")


if __name__ == "__main__":
    main()
