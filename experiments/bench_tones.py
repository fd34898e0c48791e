"""Whether a codec plays held tones at their pitch: steady sines, and the tone measure on sets.

    python experiments/bench_tones.py [--run RUN_DIR | --base FILE] [--sets tonal textures unseen]

Without --run: the shipped base codec (or the base codec file --base), its encoder's
unquantized latents decoded (a base has no codebooks); with --run: that run's best checkpoint,
encoded and decoded. For each steady sine, the copy's three loudest lines (1 s from 0.5 s in);
for each dev set, `sda.audio.tone_fidelity` on the files' first 4 s (median over the clips with
a held tone). Prints only: the numbers of 2026-12-07 are in RESULTS.md (Codec, "comb" and the
two "phase steps" entries after it).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see sda/training/train_codec.py

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from bench_codec import load_codec, tone_scores, unseen_clips

from sda.audio.tone_fidelity import power_spectrum
from sda.models.base_codec import base_codec_path, load_base_codec

SINES_HZ = (36.0, 55.0, 110.0, 220.0, 440.0, 1000.0, 1760.0)
SETS = Path.home() / ".cache/sda-dev-sets"


def loudest_lines(audio: np.ndarray, rate: int, count: int = 3) -> list[float]:
    """The `count` loudest spectral lines above 20 Hz, at least 10 Hz apart."""
    power, freqs = power_spectrum(audio, rate)
    lines: list[float] = []
    for index in np.argsort(power)[::-1]:
        hz = float(freqs[index])
        if hz > 20 and all(abs(hz - other) > 10 for other in lines):
            lines.append(round(hz, 1))
        if len(lines) == count:
            break
    return lines


def copier(run: Path | None, base: Path | None = None):
    """(function clip -> copy, sample rate) for the run's best codec, else the base codec in
    `base`, else the shipped base."""
    if run is None:
        codec = load_base_codec(base or base_codec_path())[0].eval()

        def copy(clip: torch.Tensor) -> np.ndarray:
            return codec.decode_latents(codec.encode_latents(clip[None]))[0, : clip.numel()]

    else:
        codec = load_codec(run, "best")[0]

        def copy(clip: torch.Tensor) -> np.ndarray:
            return codec.decode(codec.encode(clip[None]))[0, : clip.numel()]

    return (lambda clip: copy(clip).numpy()), codec.config.sample_rate


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="a codec run dir (default: base)")
    parser.add_argument("--base", type=Path, default=None, help="a base codec .safetensors")
    parser.add_argument("--sets", nargs="*", default=["tonal", "textures", "unseen"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    copy, rate = copier(args.run, args.base)
    time = torch.arange(2 * rate) / rate
    for hz in SINES_HZ:
        decoded = copy(0.3 * torch.sin(2 * math.pi * hz * time))
        held = decoded[rate // 2 : rate // 2 + rate]  # 1 s from 0.5 s in, as the docstring says
        print(f"sine {hz:7.1f} Hz -> loudest lines {loudest_lines(held, rate)}")
    for name in args.sets:
        clips = unseen_clips(SETS / name, rate, 4.0)
        scores = tone_scores([c.numpy() for c in clips], [copy(c) for c in clips], rate)
        print(f"{name}: {scores['tones']} held tones, tone kept {scores['tone_kept']}")


if __name__ == "__main__":
    main()
