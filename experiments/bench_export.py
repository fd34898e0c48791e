"""Export and binaural rendering speed, as multiples of real time, for 60 s of audio.

Run: `.venv/bin/python experiments/bench_export.py [--seconds 60]`. Prints a table and records it
at the end of the "## Export" section of experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
from results_file import record
from timing import best_time

from sda.audio.export import export_audio
from sda.audio.spatial import binaural, load_hrtf

RATE = 48_000

CASES = [  # label, export_audio keyword arguments
    ("wav 24-bit 48k mono", {"format": "wav"}),
    ("wav 16-bit 44.1k mono (resample + dither)", {"format": "wav", "bit_depth": 16, "sample_rate": 44_100}),
    ("wav 32f 96k mono", {"format": "wav", "bit_depth": 32, "sample_rate": 96_000}),
    ("flac 24-bit 48k mono", {"format": "flac"}),
    ("ogg vorbis 48k mono", {"format": "ogg"}),
    ("opus 48k mono", {"format": "opus"}),
    ("mp3 48k mono", {"format": "mp3"}),
    ("flac 24-bit stereo (widened)", {"format": "flac", "channels": "stereo"}),
    ("wav 24-bit binaural static", {"format": "wav", "channels": "binaural", "azimuth": 60.0}),
    ("wav 24-bit binaural, -14 LUFS", {"format": "wav", "channels": "binaural", "lufs": -14.0}),
    ("mp3 44.1k binaural moving", {"format": "mp3", "sample_rate": 44_100, "channels": "binaural",
                                   "motion": [(0, -90, 0), (30, 90, 30), (60, 270, 0)]}),
]  # fmt: skip


def _material(seconds: float) -> np.ndarray:
    """A stand-in for generated audio: a few drifting partials over coloured noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(
        0.1 * np.sin(2 * np.pi * f * t * (1 + 0.002 * np.sin(t))) for f in (110, 220, 331, 587)
    )
    noise = np.convolve(rng.standard_normal(len(t)), np.ones(8) / 8, mode="same") * 0.05
    return (tone + noise).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(2)  # loudness measurement; the machine is shared
    except ImportError:
        pass
    audio = _material(args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i, (label, kwargs) in enumerate(CASES):
            # warm-up (filter design, HRTF load, torch import), then the best of two
            export_audio(audio[:RATE], Path(folder) / f"warm{i}", **kwargs)
            seconds = best_time(
                lambda kw=kwargs, i=i: export_audio(
                    audio, Path(folder) / f"b{i}", overwrite=True, **kw
                ),
                repeats=2,
            )
            rows.append((f"export {label}", seconds))
    hrtf = load_hrtf()
    binaural(audio[:RATE], RATE, azimuth=30.0, hrtf=hrtf)
    rows.append(
        (
            "render binaural static",
            best_time(lambda: binaural(audio, RATE, azimuth=30.0, hrtf=hrtf), repeats=2),
        )
    )
    path = [(0.0, 0.0, 0.0), (args.seconds, 720.0, 40.0)]
    rows.append(("render binaural moving (1024-sample blocks, crossfaded)",
                 best_time(lambda: binaural(audio, RATE, path=path, hrtf=hrtf), repeats=2)))  # fmt: skip

    header = (
        f"{date.today().isoformat()}, {args.seconds:.0f} s of 48 kHz mono input, "
        f"{platform.processor() or platform.machine()}, best of 2 runs, 2 shared CPU cores.\n\n"
        "| step | seconds | x real time |\n| --- | ---: | ---: |\n"
    )
    table = "".join(f"| {label} | {sec:.2f} | {args.seconds / sec:.0f} |\n" for label, sec in rows)
    print(header + table)
    record("Export", header + table)


if __name__ == "__main__":
    main()
