"""Build the benchmark's real-audio sets from the dev audio that get-dev-audio.sh unpacks.

    python experiments/dev_sets.py [--audio ~/.cache/sda-dev-audio] [--out ~/.cache/sda-dev-sets]

Makes folders of symbolic links (no audio is copied or committed), so every benchmark row
names a set anyone can rebuild:
  drums/     40 recorded one-shots from sonic-pi (kicks, snares, drum kit, electronic kit)
  textures/  12 longer recordings from sonic-pi (ambient textures and loops, 92 s in all)
  unseen/    every 8th LMMS sample and two Warzone 2100 tracks: kept out of the base codec's
             corpus (scripts/base_corpus.py), so the base is scored on sound it never heard
  tonal/     LMMS's pitched notes and chords (instruments, strings and pads, basses; 51 files):
             sustained notes whose harmony the tension control is about (180 s; the package's
             harpsichord01.ogg is malformed, and sda skips it saying so)
  percussion/ sonic-pi's tabla strokes, percussion and electronic hits outside drums/ (54 files)
"""

from __future__ import annotations

import argparse
from pathlib import Path

SONIC_PI = "sonic-pi-samples/usr/share/sonic-pi/samples"
LMMS = "lmms-common/usr/share/lmms/samples"
WARZONE = "warzone2100-music/usr/share/games/warzone2100/music"
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff"}
LMMS_NOT_SOUNDS = ("shapes", "waveforms")  # single-cycle oscillator tables, not recordings
LMMS_TONAL = ("instruments", "stringsnpads", "basses")
UNSEEN_LMMS_EVERY = 8
UNSEEN_WARZONE_TRACKS = 2
DRUM_PATTERNS = ("bd_*", "sn_*", "drum_*", "elec_*kick*", "elec_*snare*")
PERCUSSION_PATTERNS = ("tabla_*", "perc_*", "elec_*")
TEXTURES = (
    "ambi_dark_woosh", "ambi_drone", "ambi_glass_hum", "ambi_haunted_hum", "ambi_lunar_land",
    "ambi_sauna", "loop_3d_printer", "loop_compus", "loop_garzul", "loop_mika", "loop_safari",
    "loop_tabla",
)  # fmt: skip


def audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def drum_files(samples: Path) -> list[Path]:
    return [f for p in DRUM_PATTERNS for f in sorted(samples.glob(p + ".flac"))][:40]


def percussion_files(samples: Path) -> list[Path]:
    drums = {f for p in DRUM_PATTERNS for f in samples.glob(p + ".flac")}
    found = [f for p in PERCUSSION_PATTERNS for f in sorted(samples.glob(p + ".flac"))]
    return [f for f in found if f not in drums]


def texture_files(samples: Path) -> list[Path]:
    return [samples / f"{name}.flac" for name in TEXTURES]


def lmms_sounds(lmms: Path) -> list[Path]:
    return [f for f in audio_files(lmms) if f.relative_to(lmms).parts[0] not in LMMS_NOT_SOUNDS]


def unseen_lmms(lmms: Path) -> list[Path]:
    return lmms_sounds(lmms)[UNSEEN_LMMS_EVERY - 1 :: UNSEEN_LMMS_EVERY]


def unseen_warzone(warzone: Path) -> list[Path]:
    return audio_files(warzone)[:UNSEEN_WARZONE_TRACKS]


def tonal_files(lmms: Path) -> list[Path]:
    return [f for folder in LMMS_TONAL for f in audio_files(lmms / folder)]


def link_set(out: Path, files: list[Path]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for file in files:
        link = out / file.name
        if link.exists():  # two packages may use one name: keep both
            link = out / f"{file.parent.name}_{file.name}"
        link.symlink_to(file)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=Path.home() / ".cache/sda-dev-audio")
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache/sda-dev-sets")
    args = parser.parse_args()
    samples = args.audio / SONIC_PI
    if not samples.is_dir():
        raise SystemExit(f"{samples} not found: run ../shared/scripts/get-dev-audio.sh first")
    drums, textures = drum_files(samples), texture_files(samples)
    unseen = unseen_lmms(args.audio / LMMS) + unseen_warzone(args.audio / WARZONE)
    print(link_set(args.out / "drums", drums), len(drums), "files")
    print(link_set(args.out / "textures", textures), len(textures), "files")
    print(link_set(args.out / "unseen", unseen), len(unseen), "files")
    tonal = tonal_files(args.audio / LMMS)
    print(link_set(args.out / "tonal", tonal), len(tonal), "files")
    percussion = percussion_files(samples)
    print(link_set(args.out / "percussion", percussion), len(percussion), "files")


if __name__ == "__main__":
    main()
