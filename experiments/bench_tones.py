"""Whether a codec plays held tones at their pitch: steady sines, and the tone measure on sets.

    python experiments/bench_tones.py [--run RUN_DIR | --base FILE] [--sets tonal textures unseen]

Without --run: the shipped base codec (or the base codec file --base), its encoder's
unquantized latents decoded (a base has no codebooks); with --run: that run's best checkpoint,
encoded and decoded. For each steady sine, the copy's three loudest lines (1 s from 0.5 s in);
for each dev set, `sda.audio.tone_fidelity` on the files' first 4 s (median over the clips with
a held tone), and the same for the decoder's synthesis frames with the original's phases, and
with the original's magnitudes and the decoder's phases (which half loses the pitch; from the
unquantized latents). Prints only: the numbers of 2026-12-07 are in RESULTS.md (Codec, "comb"
and the two "phase steps" entries after it).
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import math
from pathlib import Path

import numpy as np
import torch
from bench_codec import load_codec, tone_scores, unseen_clips

from sda.audio.tone_fidelity import power_spectrum
from sda.models.base_codec import base_codec_path, load_base_codec
from sda.models.codec import Codec
from sda.models.spectral import frames_stft

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


def chosen_codec(run: Path | None, base: Path | None = None) -> tuple[Codec, bool]:
    """(codec, whether its codes are used): the run's best codec, else the base codec in `base`,
    else the shipped base (a base has no codebooks: its unquantized latents are decoded)."""
    if run is None:
        return load_base_codec(base or base_codec_path())[0].eval(), False
    return load_codec(run, "best")[0], True


def copier(codec: Codec, quantized: bool):
    """clip (samples,) -> the codec's copy as numpy."""

    def copy(clip: torch.Tensor) -> np.ndarray:
        if quantized:
            decoded = codec.decode(codec.encode(clip[None]))
        else:
            decoded = codec.decode_latents(codec.encode_latents(clip[None]))
        return decoded[0, : clip.numel()].numpy()

    return copy


def swapped_halves(codec: Codec, clip: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the unquantized latents, one pass of the decoder: its copy, its synthesis frames with
    the original's phases, and the original's magnitudes with its phases (the original analysed
    on the head's own frame grid): which half of what the head predicts loses a held tone's
    pitch."""
    head = codec.decoder.head
    log_mag, phase = codec.decoder.head_frames(codec.encode_latents(clip[None]))
    spec = frames_stft(
        clip[None],
        n_fft=head.n_fft,
        hop_length=head.hop_length,
        window=head.window,
        frames=log_mag.shape[-1],
    )
    original_mag, original_phase = torch.log(spec.abs().clamp(min=1e-7)), torch.angle(spec)
    return tuple(
        head.render(m, p)[0, : clip.numel()].numpy()
        for m, p in ((log_mag, phase), (log_mag, original_phase), (original_mag, phase))
    )


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="a codec run dir (default: base)")
    parser.add_argument("--base", type=Path, default=None, help="a base codec .safetensors")
    parser.add_argument("--sets", nargs="*", default=["tonal", "textures", "unseen"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    codec, quantized = chosen_codec(args.run, args.base)
    copy, rate = copier(codec, quantized), codec.config.sample_rate
    time = torch.arange(2 * rate) / rate
    for hz in SINES_HZ:
        decoded = copy(0.3 * torch.sin(2 * math.pi * hz * time))
        held = decoded[rate // 2 : rate // 2 + rate]  # 1 s from 0.5 s in, as the docstring says
        print(f"sine {hz:7.1f} Hz -> loudest lines {loudest_lines(held, rate)}")
    for name in args.sets:
        clips = unseen_clips(SETS / name, rate, 4.0)
        originals = [c.numpy() for c in clips]
        renders = [swapped_halves(codec, c) for c in clips]  # unquantized, as a base is
        # a base's copy is the first render; a run's goes through its codes
        copies = [copy(c) for c in clips] if quantized else [r[0] for r in renders]
        scores = tone_scores(originals, copies, rate)
        magnitudes = tone_scores(originals, [r[1] for r in renders], rate)["tone_kept"]
        phases = tone_scores(originals, [r[2] for r in renders], rate)["tone_kept"]
        print(
            f"{name}: {scores['tones']} held tones, tone kept {scores['tone_kept']}; the decoder's"
            f" magnitudes with the original's phases {magnitudes}, the original's magnitudes with"
            f" the decoder's phases {phases}"
        )


if __name__ == "__main__":
    main()
