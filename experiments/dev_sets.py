"""Build the benchmark's real-audio sets from the dev audio that get-dev-audio.sh unpacks.

    python experiments/dev_sets.py [--audio ~/.cache/sda-dev-audio] [--out ~/.cache/sda-dev-sets]

Makes two folders of symbolic links (no audio is copied or committed), so every benchmark row
names a set anyone can rebuild:
  drums/     40 recorded one-shots from sonic-pi (kicks, snares, drum kit, electronic kit)
  textures/  12 longer recordings from sonic-pi (ambient textures and loops, 92 s in all)
"""

from __future__ import annotations

import argparse
from pathlib import Path

SONIC_PI = "sonic-pi-samples/usr/share/sonic-pi/samples"
DRUM_PATTERNS = ("bd_*", "sn_*", "drum_*", "elec_*kick*", "elec_*snare*")
TEXTURES = (
    "ambi_dark_woosh", "ambi_drone", "ambi_glass_hum", "ambi_haunted_hum", "ambi_lunar_land",
    "ambi_sauna", "loop_3d_printer", "loop_compus", "loop_garzul", "loop_mika", "loop_safari",
    "loop_tabla",
)  # fmt: skip


def link_set(out: Path, files: list[Path]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for file in files:
        (out / file.name).symlink_to(file)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=Path.home() / ".cache/sda-dev-audio")
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache/sda-dev-sets")
    args = parser.parse_args()
    samples = args.audio / SONIC_PI
    if not samples.is_dir():
        raise SystemExit(f"{samples} not found: run ../shared/scripts/get-dev-audio.sh first")
    drums = [f for p in DRUM_PATTERNS for f in sorted(samples.glob(p + ".flac"))][:40]
    textures = [samples / f"{name}.flac" for name in TEXTURES]
    print(link_set(args.out / "drums", drums), len(drums), "files")
    print(link_set(args.out / "textures", textures), len(textures), "files")


if __name__ == "__main__":
    main()
