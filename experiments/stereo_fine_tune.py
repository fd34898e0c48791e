"""The stereo fine-tune half of experiments/bench_stereo.py (`--minutes M`): a stereo codec and a
mono codec, each fine-tuned from the base for M minutes by `sda-train` itself (recipe=cpu, the
same code path, in-process) on the same Warzone 2100 tracks, then scored on held-out tracks.

Scores: the stereo model's mid mel against the mono model's mel on the downmix (the issue's
"mid mel within 0.1 of the mono codec"), mel of L and R, side/mid energy ratio error (dB), L/R
correlation error, mono compatibility, and encode + decode speed of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sda.audio.dsp import mel_distance
from sda.audio.mono_compat import mono_compatibility
from sda.library.checkpoints import codec_bundle, read_checkpoint
from sda.models.codec import Codec
from sda.models.stereo_codec import StereoCodec, to_mid_side
from sda.training.train_codec import compose_config, train

RUNS = Path("/tmp/bench_stereo_runs")


@dataclass
class Run:
    """One fine-tune: its folder, steps done, wall seconds, and its best codec."""

    folder: Path
    steps: int
    seconds: float
    codec: Codec


def training_folder(files: list[Path], folder: Path) -> Path:
    """A folder of links to the training tracks (sda-train takes a folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for path in files:
        (folder / path.name).symlink_to(path)
    return folder


def fine_tune(
    data: Path, channels: int, minutes: int, threads: int, overrides: list[str] | None = None
) -> Run:
    """`sda-train data.dir=DATA recipe=cpu model.channels=C [overrides]` for `minutes`, from the
    base."""
    name = f"{'stereo' if channels == 2 else 'mono'}-{minutes}min"
    cfg = compose_config(
        [
            "recipe=cpu",
            f"data.dir={data}",
            f"paths.output_dir={RUNS}",
            f"name={name}",
            f"model.channels={channels}",
            f"trainer.max_time=00:00:{minutes:02d}:00",
            f"threads={threads}",
            "init_from=base",
            "resume=false",
            "trainer.enable_progress_bar=false",
            *(overrides or []),
        ]
    )
    started = time.perf_counter()
    folder = train(cfg)
    seconds = time.perf_counter() - started
    best = read_checkpoint(folder, checkpoint="best")
    last = torch.load(folder / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    codec = codec_bundle(best).codec.eval()
    return Run(folder, int(last.get("global_step", 0)), seconds, codec)


def side_mid_db(stereo: np.ndarray) -> float:
    mid, side = to_mid_side(np.asarray(stereo, dtype=np.float64))
    return float(10 * np.log10((np.sum(side**2) + 1e-12) / (np.sum(mid**2) + 1e-12)))


def correlation(stereo: np.ndarray) -> float:
    left, right = np.asarray(stereo, dtype=np.float64)
    return float(np.sum(left * right) / np.sqrt(np.sum(left**2) * np.sum(right**2) + 1e-12))


def balance_db(stereo: np.ndarray) -> float:
    """Left over right energy in dB: where the image leans (0: balanced)."""
    left, right = np.asarray(stereo, dtype=np.float64)
    return float(10 * np.log10((np.sum(left**2) + 1e-12) / (np.sum(right**2) + 1e-12)))


@torch.inference_mode()
def stereo_scores(codec: Codec, clip: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Scores of one held-out (2, samples) clip through the stereo model, and its decode."""
    rate = codec.config.sample_rate
    stereo = StereoCodec.of(codec)
    decoded = stereo.decode(stereo.encode(torch.from_numpy(clip)[None]))[0, :, : clip.shape[1]]
    out = decoded.float().numpy()
    return {
        "mid_mel": mel_distance(to_mid_side(clip)[0], to_mid_side(out)[0], rate),
        "mel_left": mel_distance(clip[0], out[0], rate),
        "mel_right": mel_distance(clip[1], out[1], rate),
        "ratio_db": abs(side_mid_db(out) - side_mid_db(clip)),
        "corr": abs(correlation(out) - correlation(clip)),
        "balance_db": abs(balance_db(out) - balance_db(clip)),
        "mono_db": mono_compatibility(out).downmix_db,
    }, out


@torch.inference_mode()
def pan_error_db(codec: Codec, clip: np.ndarray) -> float:
    """Where a panned source comes back: the clip's downmix at 9 dB to the left, then to the
    right, through the stereo model; the mean error of the decoded lean (dB). A side decoded in
    phase with the mid leans every pan left; a side turned 90 degrees centres it."""
    stereo = StereoCodec.of(codec)
    downmix = to_mid_side(clip)[0]
    errors = []
    for gains in ((1.0, 0.355), (0.355, 1.0)):
        source = np.stack([gains[0] * downmix, gains[1] * downmix]).astype(np.float32)
        decoded = stereo.decode(stereo.encode(torch.from_numpy(source)[None]))[0]
        errors.append(abs(balance_db(decoded[:, : clip.shape[1]].numpy()) - balance_db(source)))
    return float(np.mean(errors))


@torch.inference_mode()
def mono_mel(codec: Codec, clip: np.ndarray) -> float:
    """The mono model's mel on the downmix of a (2, samples) clip."""
    downmix = to_mid_side(clip)[0]
    decoded = codec.decode(codec.encode(torch.from_numpy(downmix)[None]))[0, : clip.shape[1]]
    return mel_distance(downmix, decoded.numpy(), codec.config.sample_rate)


def held_out(stereo: Run, mono: Run, clips: list[np.ndarray]) -> tuple[dict, np.ndarray]:
    """Mean scores over the held-out clips, and the first clip's stereo decode (to look at)."""
    rows, first = [], None
    for clip in clips:
        scores, decoded = stereo_scores(stereo.codec, clip)
        scores["mono_mel"] = mono_mel(mono.codec, clip)
        scores["pan_db"] = pan_error_db(stereo.codec, clip)
        rows.append(scores)
        first = decoded if first is None else first
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}, first


def save_pictures(original: np.ndarray, decoded: np.ndarray, rate: int, path: Path) -> Path:
    """Log spectrograms of L, R and S: originals (top) over the stereo model's decode (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(15, 7), sharex=True, sharey=True)
    for row, (name, audio) in enumerate((("original", original), ("decoded", decoded))):
        side = to_mid_side(audio)[1]
        for column, (label, signal) in enumerate(
            (("left", audio[0]), ("right", audio[1]), ("side", side))
        ):
            axes[row, column].specgram(
                np.asarray(signal, np.float64) + 1e-9,
                NFFT=1024, Fs=rate, noverlap=768, cmap="magma", vmin=-140,
            )  # fmt: skip
            axes[row, column].set_title(f"{name} {label}")
    axes[1, 0].set_xlabel("seconds")
    axes[0, 0].set_ylabel("Hz")
    figure.tight_layout()
    figure.savefig(path, dpi=70)
    plt.close(figure)
    return path


def table(scores: dict, stereo: Run, mono: Run, speed: dict[str, float]) -> str:
    """The RESULTS.md rows of one fine-tune comparison."""
    lines = [
        "| model | steps | mid mel (mono: downmix mel) | mel L / R | side/mid ratio error (dB) "
        "| L/R correlation error | L/R balance error (dB) | 9 dB pan, lean error (dB) "
        "| mono downmix (dB) | encode+decode (x real time) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| stereo (M/S) | {stereo.steps} | {scores['mid_mel']:.3f} | {scores['mel_left']:.3f} / "
        f"{scores['mel_right']:.3f} | {scores['ratio_db']:.2f} | {scores['corr']:.3f} | "
        f"{scores['balance_db']:.2f} | {scores['pan_db']:.1f} | {scores['mono_db']:+.2f} "
        f"| {speed['stereo']:.0f} |",
        f"| mono | {mono.steps} | {scores['mono_mel']:.3f} | - | - | - | - | - | - "
        f"| {speed['mono']:.0f} |",
    ]
    return "\n".join(lines)
