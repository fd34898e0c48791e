"""Codec benchmark (issue 3): train for M minutes on 2 CPU threads, then measure on held-out audio.

    python experiments/bench_codec.py --data DIR --minutes 10 [--override model=codec_small ...]

Reports held-out mel distance (sda.audio.dsp.mel_distance) for every prefix of levels, MR-STFT
distance, codebook usage per level over all training audio, training throughput (audio seconds per
second of wall time, warm-up and validation included), encode+decode speed (x real time, 60 s of
audio, 2 threads; a stereo model codes both channels) and peak RSS; appends a row to
experiments/RESULTS.md under "## Codec". `--run DIR` scores a run trained before (its own
settings; no training throughput then).
"""

from __future__ import annotations

import os
import sys

from sda.training.thread_waits import thread_waits

# before torch: as the trainers (sda.training.thread_waits)
os.environ.update(thread_waits(os.environ, sys.platform))

import argparse
import datetime
import json
import logging
import math
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from results_file import RESULTS

from sda.audio.attacks import compare_attacks
from sda.audio.dsp import MEL_DISTANCE_WINDOWS, mel_distance
from sda.audio.low_tones import compare_low_tones
from sda.audio.tone_fidelity import tones_kept
from sda.dataset.scan import load_usable_audio, scan_folder
from sda.models.codec import Codec, CodecConfig
from sda.training.losses import SpectralLoss
from sda.training.train_codec import compose_config, datamodule_config, train

# the spectral measures' frames pad by half their longest window (reflect padding needs more
# samples than that): a shorter clip (a click, a blip) is scored padded with the silence that
# follows a sound, not refused
MIN_CLIP_SAMPLES = 2 * max(MEL_DISTANCE_WINDOWS)
HEADER = (
    "| date | data | model | K x levels | budget | steps | held-out mel (levels 1/2/4/all) "
    "| MR-STFT | codes used % per level | train audio-s/s | enc+dec x RT | peak RSS GB | notes |\n"
    "| --- | --- | --- | --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |\n"
)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def load_codec(run_dir: Path, checkpoint: str = "best") -> tuple[Codec, dict]:
    """The run's best (lowest held-out mel: what `sda export` takes) or last weights."""
    path = run_dir / "checkpoints" / f"{checkpoint}.ckpt"
    if not path.is_file():
        path = run_dir / "checkpoints" / "last.ckpt"
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    codec = Codec(CodecConfig.from_dict(ckpt["hyper_parameters"]["codec"]))
    state = {k[6:]: v for k, v in ckpt["state_dict"].items() if k.startswith("codec.")}
    codec.load_state_dict(state)
    return codec.eval(), ckpt


@torch.inference_mode()
def clip_quality(
    codec: Codec, clips: list[torch.Tensor], from_start: list[bool] | None = None
) -> dict:
    """Mel distance per prefix of levels, unquantized mel, MR-STFT and attack errors on clips.
    `from_start`: per clip, whether it begins at its file's start (default: all do); a clip cut
    from the middle of a sound has no attack at its first sample."""
    spectral = SpectralLoss(sample_rate=codec.config.sample_rate)
    rate = codec.config.sample_rate
    levels = sorted({1, 2, 4, codec.config.num_levels} & set(range(1, codec.config.num_levels + 1)))
    mel = {k: [] for k in levels}
    stft_values, unquantized, peak_errors, smears, copies = [], [], [], [], []
    clips = [torch.nn.functional.pad(c, (0, max(0, MIN_CLIP_SAMPLES - c.shape[-1]))) for c in clips]
    for index, clip in enumerate(clips):
        # what the decoder makes of the encoder's latents before quantization: the quantizer's cost
        # is the gap between this and the all-levels figure
        direct = codec.decode_latents(codec.encode_latents(clip[None]))[0, : clip.shape[-1]]
        unquantized.append(mel_distance(clip, direct, rate))
        codes = codec.encode(clip[None])
        for k in levels:
            recon = codec.decode(codes, levels=k)[0, : clip.shape[-1]]
            mel[k].append(mel_distance(clip, recon, rate))
            if k == codec.config.num_levels:
                stft_values.append(float(spectral(recon[None], clip[None]).stft))
                copies.append(recon.numpy())
                quiet_before = True if from_start is None else from_start[index]
                attacks = compare_attacks(
                    clip.numpy(), recon.numpy(), rate, quiet_before=quiet_before
                )
                peak_errors += attacks.peak_error_db
                smears += list(np.subtract(attacks.rise_ms_copy, attacks.rise_ms_original))
    originals = [c.numpy() for c in clips]
    return {
        "held_out_clips": len(clips),
        "held_out_seconds": round(sum(len(c) for c in clips) / rate, 1),
        "mel_by_levels": {k: float(np.mean(v)) for k, v in mel.items()},
        "mel_unquantized": float(np.mean(unquantized)),
        "mel_references": reference_scores(clips, rate),
        "mr_stft": float(np.mean(stft_values)),
        # attacks in the clips: |peak error| dB, signed mean (negative: hits come back low) and
        # how many ms longer the reconstruction takes to rise to its peak
        "attacks": len(peak_errors),
        "attack_peak_error_db": float(np.mean(np.abs(peak_errors))) if peak_errors else None,
        "attack_peak_bias_db": float(np.mean(peak_errors)) if peak_errors else None,
        "attack_rise_smear_ms": float(np.mean(smears)) if smears else None,
        **low_tone_scores(originals, copies, rate),
        **tone_scores(originals, copies, rate),
    }


def tone_scores(originals: list[np.ndarray], copies: list[np.ndarray], rate: int) -> dict:
    """On the clips with a held tone: the median share of the copy's energy at the original's
    partials, against the original's (1: at their pitch; a decoder playing a comb of its frame
    rate scores near 0)."""
    kept = tones_kept(originals, copies, rate)
    return {"tones": len(kept), "tone_kept": float(np.median(kept)) if kept else None}


def low_tone_scores(originals: list[np.ndarray], copies: list[np.ndarray], rate: int) -> dict:
    """On the clips whose opening is mostly bass: the copy's low pitch error (median |semitones|)
    and low band level error (mean dB); a kick body played at the head's first bin shows here."""
    low = compare_low_tones(originals, copies, rate)
    found = bool(low.pitch_error_semitones)
    return {
        "low_tones": len(low.pitch_error_semitones),
        "low_pitch_error_semitones": low.median_abs_pitch_error if found else None,
        "low_level_error_db": float(np.mean(low.level_error_db)) if found else None,
    }


def unseen_clips(
    folder: Path, sample_rate: int, max_seconds: float | None = 10.0
) -> list[torch.Tensor]:
    """The first `max_seconds` (None: all) of every usable file of a folder the run never saw."""
    report = scan_folder(folder, sample_rate=sample_rate)
    limit = None if max_seconds is None else int(max_seconds * sample_rate)
    return [mid_clip(a, 0, limit) for a in load_usable_audio(report)]


def mid_clip(audio, start: int, end: int) -> torch.Tensor:
    """(samples,) of a cached recording: a stereo one (2, samples) as its mid, which is what a
    stereo model's mid grid codes (its mid IS the mono codec's path); a mono one as it is."""
    part = np.asarray(audio[..., start:end], dtype=np.float32)
    # a copy: the cache hands out read-only arrays, which torch.from_numpy warns about
    return torch.tensor(part.mean(axis=0) if part.ndim == 2 else part)


@torch.inference_mode()
def evaluate(codec: Codec, datamodule) -> dict:
    datamodule.setup("validate")
    audio = datamodule.audio
    clips = [mid_clip(audio[r.file], r.start, r.end) for r in datamodule.val_regions]
    quality = clip_quality(codec, clips, [r.start == 0 for r in datamodule.val_regions])
    # usage: encode every training region (what the prior will see)
    counts = torch.zeros(codec.config.num_levels, codec.config.codebook_size)
    for region in datamodule.train_regions:
        clip = mid_clip(audio[region.file], region.start, region.end)
        codes = codec.encode(clip[None])[0]  # (levels, frames)
        for level in range(codes.shape[0]):
            counts[level] += torch.bincount(codes[level], minlength=codec.config.codebook_size)
    used = (counts > 0).float().mean(dim=1) * 100
    p = counts / counts.sum(dim=1, keepdim=True)
    perplexity = torch.exp(-(p * p.clamp(min=1e-12).log()).sum(dim=1))
    return {
        **quality,
        "used_percent": [round(float(u), 1) for u in used],
        "perplexity": [round(float(x), 1) for x in perplexity],
    }


@torch.inference_mode()
def reference_scores(clips: list[torch.Tensor], sample_rate: int) -> dict[str, float]:
    """Mel distance of two fixed degradations of the held-out clips, to read the codec's against.

    "random phase": the exact STFT magnitude (2048/512) with random phases, i.e. a perfect
    magnitude codec that transmits no phase; "low-pass 12 kHz": a brick-wall FFT low-pass.
    """
    generator = torch.Generator().manual_seed(0)
    window = torch.hann_window(2048)
    random_phase, low_pass = [], []
    for clip in clips:
        spectrum = torch.stft(clip, 2048, 512, window=window, return_complex=True)
        phase = torch.rand(spectrum.shape, generator=generator) * 2 * math.pi
        scrambled = torch.istft(
            spectrum.abs() * torch.exp(1j * phase), 2048, 512, window=window, length=len(clip)
        )
        random_phase.append(mel_distance(clip, scrambled, sample_rate))
        full = torch.fft.rfft(clip)
        full[torch.fft.rfftfreq(len(clip), 1 / sample_rate) > 12000] = 0
        low_pass.append(mel_distance(clip, torch.fft.irfft(full, len(clip)), sample_rate))
    return {"random_phase": float(np.mean(random_phase)), "low_pass_12k": float(np.mean(low_pass))}


@torch.inference_mode()
def speed(codec: Codec, datamodule, seconds: float = 60.0) -> float:
    """Encode + decode x real time on `seconds` of the training audio; a stereo model codes
    both channels (mid and side grids, as `sda reconstruct` does)."""
    from sda.models.stereo_codec import StereoCodec

    total = int(seconds * codec.config.sample_rate)
    joined = np.concatenate([np.asarray(a, np.float32) for a in datamodule.audio], axis=-1)
    looped = np.stack([np.resize(channel, total) for channel in np.atleast_2d(joined)])
    audio = torch.from_numpy(looped)  # (1, samples): a batch of one; (2, samples): one stereo
    model = codec
    if codec.config.channels == 2:
        model, audio = StereoCodec.of(codec), audio[None]
    model.decode(model.encode(audio[..., : codec.config.sample_rate * 5]))  # warm-up (oneDNN)
    best = math.inf
    for _ in range(2):
        started = time.perf_counter()
        model.decode(model.encode(audio))
        best = min(best, time.perf_counter() - started)
    return seconds / best


def append_row(row: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if "## Codec" not in text:
        intro = (
            "\n## Codec\n\nHeld-out mel distance: sum over 7 scales of mean |log10 mel| difference "
            "(lower is better; 12 kHz low-pass ~1-2, silence ~17-22). Codes used: share of codes hit "
            "when encoding all training audio. Speed and throughput on 2 CPU threads.\n\n"
        )
        text = text.rstrip("\n") + "\n" + intro + HEADER
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == "## Codec")
    end = start + 1
    while end < len(lines) and not lines[end].startswith("## "):
        end += 1
    # the section's first table with this header: later notes hold tables of their own, and a
    # row appended to the last table of the section landed under another table's columns
    header = HEADER.split("\n")[0]
    table = next((i for i in range(start, end) if lines[i] == header), None)
    if table is None:
        lines[end:end] = ["", *HEADER.rstrip("\n").split("\n"), row, ""]
    else:
        last_row = table
        while last_row + 1 < end and lines[last_row + 1].startswith("|"):
            last_row += 1
        lines.insert(last_row + 1, row)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


@torch.inference_mode()
def save_pictures(codec: Codec, datamodule, folder: Path, label: str, count: int = 4) -> None:
    """Original vs reconstruction of the first held-out clips (a stereo run's: their mids), as
    PNGs to look at."""
    from plots import save_comparison

    rate = codec.config.sample_rate
    for index, region in enumerate(datamodule.val_regions[:count]):
        clip = mid_clip(datamodule.audio[region.file], region.start, region.end)[: 3 * rate]
        recon = codec.decode(codec.encode(clip[None]))[0, : len(clip)].numpy()
        clip = clip.numpy()
        name = Path(datamodule.report.usable[region.file].path).stem
        save_comparison(
            folder / f"{label}-{index}-{name}.png", clip, recon, rate, f"{label}: {name}"
        )


def attack_note(quality: dict) -> str:
    if not quality["attacks"]:
        return "no attacks found" + tone_notes(quality)
    return (
        f"{quality['attacks']} attacks: |peak error| {quality['attack_peak_error_db']:.1f} dB "
        f"(mean {quality['attack_peak_bias_db']:+.1f}), rise {quality['attack_rise_smear_ms']:+.1f} ms"
        + tone_notes(quality)
    )


def tone_notes(quality: dict) -> str:
    """The low-tone and held-tone figures, as a results row's notes say them."""
    note = ""
    if quality["low_tones"]:
        note = (
            f"; {quality['low_tones']} low tones: pitch {quality['low_pitch_error_semitones']:.1f} "
            f"semitones off (median), level {quality['low_level_error_db']:+.1f} dB"
        )
    if quality.get("tones"):
        note += (
            f"; {quality['tones']} held tones: {quality['tone_kept']:.2f} kept at their partials"
        )
    return note


def controls_kept(codec: Codec, folder: Path) -> dict[str, float]:
    """How well the codec keeps each control's descriptor on its training folder (whole files):
    a recipe that smooths partials loses tension, which no sampling can then reach."""
    from bench_control_fidelity import folder_descriptors

    from sda.audio.control_fidelity import fidelity

    return fidelity(*folder_descriptors(codec, folder))


def unseen_note(folder: Path | None, unseen: dict | None) -> str:
    if unseen is None:
        return ""
    return (
        f"; unseen {folder.name} ({unseen['held_out_clips']} files, {unseen['held_out_seconds']} s): "
        f"mel {unseen['mel_by_levels'][max(unseen['mel_by_levels'])]:.2f}, {attack_note(unseen)}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--experiment", default="cpu-small")
    parser.add_argument("--override", action="append", default=[], help="extra Hydra overrides")
    parser.add_argument("--output-dir", type=Path, default=None)
    parser.add_argument("--note", default="")
    parser.add_argument("--plots", type=Path, default=None, help="save pictures of reconstructions")
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    parser.add_argument(
        "--unseen", type=Path, default=None, help="a folder of files the run never saw, also scored"
    )
    parser.add_argument(
        "--run", type=Path, default=None, help="score this trained run instead of training one"
    )
    parser.add_argument("--no-record", action="store_true", help="print only, do not append")
    return parser.parse_args()


def run_config(args: argparse.Namespace):
    """The run's Hydra config: the recipe, the set, the time budget and any overrides."""
    seconds = int(round(args.minutes * 60))
    max_time = f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="sda-bench-"))
    return compose_config(
        [
            f"experiment={args.experiment}",
            f"data.dir={args.data}",
            f"trainer.max_time={max_time}",
            f"paths.output_dir={output_dir}",
            f"threads={args.threads}",
            "name=bench",
            "resume=false",
            "trainer.enable_progress_bar=false",
            *args.override,
        ]
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = run_config(args)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    if args.run is None:
        run_dir = train(cfg)
    else:  # score a run trained before (by this script or sda-train): its own settings
        run_dir, cfg = args.run, OmegaConf.load(args.run / ".hydra" / "config.yaml")
    wall = time.perf_counter() - started
    rss = peak_rss_gb()
    codec, ckpt = load_codec(run_dir, args.checkpoint)
    scored = int(ckpt["global_step"])  # the best checkpoint's step is not the steps made
    steps = steps_made(run_dir, scored)
    datamodule = instantiate(datamodule_config(cfg))
    trained_audio = steps * cfg.data.batch_size * cfg.data.segment_seconds
    quality = evaluate(codec, datamodule)
    realtime = speed(codec, datamodule)
    if args.plots is not None:
        save_pictures(codec, datamodule, args.plots, args.data.name)
    unseen = None
    if args.unseen is not None:
        unseen = clip_quality(codec, unseen_clips(args.unseen, codec.config.sample_rate))
    report = datamodule.scan()
    result = {
        "run_dir": str(run_dir),
        "files": len(report.usable),
        "seconds": round(report.usable_seconds, 1),
        "steps": steps,
        "scored_step": scored,
        "wall_seconds": round(wall, 1),
        "train_audio_seconds_per_second": (
            round(trained_audio / wall, 2) if args.run is None else "n/a"
        ),
        "encode_decode_x_realtime": round(realtime, 1),
        "peak_rss_gb": round(rss, 2),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "codebook_size": codec.config.codebook_size,
        "levels": codec.config.num_levels,
        **quality,
        "unseen": unseen,
        "controls_kept": controls_kept(codec, args.data),
    }
    print(json.dumps(result, indent=2))
    (run_dir / "bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    if not args.no_record:
        append_row(results_row(args, result))
        print(f"appended to {RESULTS}", file=sys.stderr)


def steps_made(run_dir: Path, scored: int) -> int:
    """The steps the run made: its last checkpoint's (the scored one may be an earlier, better
    one: a throughput from its step would understate the training's speed)."""
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        return scored
    return max(scored, int(torch.load(last, map_location="cpu", weights_only=True)["global_step"]))


def steps_cell(result: dict) -> str:
    """The table's steps: those made, and the scored checkpoint's where it is an earlier one."""
    made, scored = result["steps"], result.get("scored_step", result["steps"])
    return f"{made}" if scored == made else f"{made} (best {scored})"


def results_row(args: argparse.Namespace, result: dict) -> str:
    """The run's row of the Codec table in RESULTS.md."""
    mel = "/".join(f"{v:.2f}" for v in result["mel_by_levels"].values())
    model = next(
        (o.split("=", 1)[1] for o in args.override if o.startswith("model=")), args.experiment
    )
    load_before, load_after = result["load_average"]
    references = result["mel_references"]
    return (
        f"| {datetime.date.today()} | {args.data.name}: {result['files']} files, {result['seconds']} s "
        f"| {model} | {result['codebook_size']} x {result['levels']} | {args.minutes:g} min "
        f"| {steps_cell(result)} | {mel} | {result['mr_stft']:.2f} "
        f"| {' '.join(f'{u:.0f}' for u in result['used_percent'])} "
        f"| {result['train_audio_seconds_per_second']} | {result['encode_decode_x_realtime']:.0f} "
        f"| {result['peak_rss_gb']:.2f} "
        f"| {platform.machine()}, 2 threads, load {load_before:.1f}->{load_after:.1f}; "
        f"held-out {result['held_out_clips']} clips {result['held_out_seconds']} s "
        f"(random-phase {references['random_phase']:.2f}, "
        f"12 kHz low-pass {references['low_pass_12k']:.2f}; unquantized "
        f"{result['mel_unquantized']:.2f}); {attack_note(result)}"
        f"{unseen_note(args.unseen, result['unseen'])}; controls kept (rho, the material vs decoded): "
        f"{', '.join(f'{name} {rho:.2f}' for name, rho in result['controls_kept'].items())}"
        f"{'; ' + args.note if args.note else ''} |"
    )


if __name__ == "__main__":
    main()
