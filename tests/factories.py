"""Builders behind the shared fixtures: synthesized audio, a tiny REAL codec and prior trained for a
few dozen steps with a plain PyTorch loop, bundles, and training-run folders in the checkpoint
layout of the contract (what `sda-train` / `sda-train-prior` write)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

SAMPLE_RATE = 48_000
REPO = Path(__file__).resolve().parents[1]

# Small enough to train in seconds on one CPU core, big enough to reconstruct something.
TINY_CODEC = dict(
    n_fft=256,
    hop_length=64,
    downsample=2,
    latent_dim=16,
    num_levels=4,
    codebook_size=32,
    encoder_dim=32,
    encoder_blocks=1,
    encoder_latent_blocks=1,
    decoder_dim=32,
    decoder_blocks=1,
    decoder_latent_blocks=1,
    kmeans_iters=4,
)
TINY_PRIOR = dict(dim=32, layers=1, heads=2, context_frames=64, dropout=0.0)
DESCRIPTOR_STATS = {  # in the units real training writes: brightness is log2 of the centroid in Hz
    "brightness": [8.97, 12.55],  # about 500 Hz .. 6 kHz
    "warmth": [0.0, 1.0],
    "roughness": [0.0, 1.0],
    "tension": [0.0, 1.0],
    "density": [0.0, 20.0],
    "loudness": [-60.0, 0.0],
}


def wake_controls(prior) -> None:
    """Random control modulation for a fresh prior, which ignores its controls (its modulation
    starts at zero): tests of how controls reach the logits need them to matter."""
    import torch

    with torch.no_grad():
        for block in prior.blocks:
            block.modulation.weight.normal_(std=0.2)
        prior.final_modulation.weight.normal_(std=0.2)


def pluck_over_drone(seconds: float = 2.0) -> np.ndarray:
    """A pluck over a drone and some noise: a spectrum with lows, mids and highs, peaks over a
    noise floor (what the render's tone and roughness tests shape)."""
    pluck = synth_sound("pluck", seconds=seconds, seed=1)
    drone = synth_sound("drone", seconds=seconds, seed=2)
    noise = 0.02 * np.random.default_rng(3).standard_normal(pluck.size)
    return (0.5 * pluck + 0.5 * drone + noise).astype(np.float32)


def seeded_tiny_codec():
    """An untrained tiny codec with 16 codes per level, its codebooks seeded on noise: enough for
    tests that need real encode/decode shapes, not real sound."""
    import torch

    from sda.models.codec import Codec, CodecConfig

    torch.manual_seed(0)
    model = Codec(CodecConfig(**{**TINY_CODEC, "codebook_size": 16, "kmeans_iters": 2}))
    model.quantizer.warm_up(model.encode_latents(torch.randn(4, 48000) * 0.1))
    return model.eval()


def synth_sound(
    kind: str, *, seconds: float = 0.5, seed: int = 0, rate: int = SAMPLE_RATE
) -> np.ndarray:
    """A short mono test sound (samples,) float32: "pluck", "drone" or "noise"."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    if kind == "pluck":
        freq = 220.0 * 2 ** (rng.integers(0, 12) / 12)
        audio = np.sin(2 * np.pi * freq * t) * np.exp(-6 * t)
    elif kind == "drone":
        freq = 110.0 * (1 + rng.random())
        audio = 0.5 * np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2.01 * freq * t)
    else:
        audio = rng.standard_normal(t.size) * np.exp(-3 * t) * 0.3
    return (0.5 * audio).astype(np.float32)


def write_tiny_audio(folder: Path, *, count: int = 3, seconds: float = 0.5) -> list[Path]:
    """`count` short wav files in `folder` (created), through sda.audio.io like all audio I/O."""
    from sda.audio.io import write_audio

    folder.mkdir(parents=True, exist_ok=True)
    kinds = ("pluck", "drone", "noise")
    paths = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        path = folder / f"{kind}_{index}.wav"
        write_audio(path, synth_sound(kind, seconds=seconds, seed=index), SAMPLE_RATE)
        paths.append(path)
    return paths


def without_rests(bundle, codes):
    """`codes` with every code of silence moved to the next code: no frame reads as a rest. A tiny
    model's take may hold the codes of silence anywhere (its codec hardly tells silence from a
    drone), which the render would release into silence."""
    from sda.generate.rests import silence_column

    grid = np.asarray(codes.indices)
    moved = (grid + 1) % bundle.codec.config.codebook_size
    return codes.with_indices(np.where(grid == silence_column(bundle)[:, None], moved, grid))


def _spectral_loss(reference, estimate):
    import torch

    loss = (reference - estimate).abs().mean()
    for n_fft in (128, 512):
        window = torch.hann_window(n_fft)
        spec = [
            torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs()
            for x in (reference, estimate)
        ]
        loss = loss + (torch.log(spec[0] + 1e-5) - torch.log(spec[1] + 1e-5)).abs().mean()
    return loss


def train_tiny_codec(
    audio: list[np.ndarray], *, steps: int = 30, seed: int = 0, start_level: float | None = None
):
    """A tiny `Codec` trained `steps` Adam steps on random crops of `audio` (list of (samples,)).
    `start_level`: the head's first log-magnitude per bin (None: the codec's quiet default, which
    30 steps leave at about -50 dBFS)."""
    import torch

    from sda.models.codec import Codec, CodecConfig

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    codec = Codec(CodecConfig(**TINY_CODEC)).train()
    if start_level is not None:
        with torch.no_grad():
            codec.decoder.head.proj.bias[: codec.decoder.head.bins].fill_(start_level)
    optimizer = torch.optim.Adam(codec.parameters(), lr=2e-3)
    segment = 4 * 1024

    def batch(size: int):
        crops = []
        for _ in range(size):
            sound = audio[rng.integers(len(audio))]
            start = rng.integers(0, max(1, sound.size - segment))
            crops.append(np.pad(sound[start : start + segment], (0, max(0, segment - sound.size))))
        return torch.from_numpy(np.stack(crops))  # (batch, samples)

    with torch.no_grad():  # k-means from plenty of vectors, as the real training does
        codec.quantizer.warm_up(codec.encode_latents(batch(16)))
    for _ in range(steps):
        x = batch(4)
        out = codec(x, quantizer_dropout=True)
        loss = _spectral_loss(x, out.audio[:, : x.shape[-1]]) + out.commit_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return codec.eval()


def train_tiny_prior(codec, audio: list[np.ndarray], *, steps: int = 15, seed: int = 0):
    """A tiny `Prior` trained `steps` steps on `codec`'s codes of `audio`."""
    import torch

    from sda.models.prior import Prior, PriorConfig

    torch.manual_seed(seed)
    config = PriorConfig(
        num_levels=codec.config.num_levels,
        codebook_size=codec.config.codebook_size,
        codec_fingerprint=codec.fingerprint(),
        **TINY_PRIOR,
    )
    with torch.no_grad():
        codes = [codec.encode(torch.from_numpy(a)[None])[0] for a in audio]  # (levels, frames) each
    return _fit_prior(Prior(config), torch.cat(codes, dim=1), steps)


def _fit_prior(prior, grid, steps: int):
    """`steps` Adam steps of `prior` on windows of one long (rows, frames) code grid."""
    import torch

    prior.train()
    frames = prior.config.context_frames
    while grid.shape[1] < frames:
        grid = torch.cat([grid, grid], dim=1)
    optimizer = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for step in range(steps):
        start = (step * 7) % (grid.shape[1] - frames + 1)
        loss, _ = prior.loss(grid[None, :, start : start + frames])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return prior.eval()


def stereo_twin(codec, *, side_levels: int = 2, direction: bool = True):
    """The same trained weights as a stereo model (channels 2, `side_levels` side levels, a
    direction row unless `direction` is False: a stereo model from before it)."""
    from dataclasses import replace

    from sda.models.codec import Codec

    config = replace(codec.config, channels=2, side_levels=side_levels, side_direction=direction)
    twin = Codec(config)
    twin.load_state_dict(codec.state_dict())
    return twin.eval()


def synth_stereo(seconds: float = 0.5, *, seed: int = 0, width: float = 0.5) -> np.ndarray:
    """(2, samples) float32: a pluck panned left over a drone panned right, `width` of side."""
    pluck = synth_sound("pluck", seconds=seconds, seed=seed)
    drone = synth_sound("drone", seconds=seconds, seed=seed + 1)
    left = pluck * (1 + width) / 2 + drone * (1 - width) / 2
    right = pluck * (1 - width) / 2 + drone * (1 + width) / 2
    return np.stack([left, right]).astype(np.float32)


def train_tiny_stereo_prior(codec, audio: list[np.ndarray], *, steps: int = 15, seed: int = 0):
    """A tiny `Prior` over a stereo codec's stacked grids (mid levels, then side levels) of
    `audio` (list of (2, samples))."""
    import torch

    from sda.models.prior import Prior, PriorConfig
    from sda.models.stereo_codec import StereoCodec
    from sda.models.stereo_grid import stack_grids

    torch.manual_seed(seed)
    stereo = StereoCodec.of(codec)
    config = PriorConfig(
        num_levels=codec.config.grid_levels,
        codebook_size=codec.config.codebook_size,
        codec_fingerprint=codec.fingerprint(),
        **TINY_PRIOR,
    )
    grids = []
    for sound in audio:
        codes = stereo.encode(torch.from_numpy(sound)[None])
        grids.append(stack_grids(codes.mid, codes.side)[0])
    return _fit_prior(Prior(config), torch.cat(grids, dim=1), steps)


def write_codec_run(
    run_dir: Path, codec, *, dataset_dir: Path | None = None, init_from: dict | None = None
) -> Path:
    """A codec training-run folder as the contract describes: checkpoints/last.ckpt (Lightning
    layout with optimizer and discriminator state to strip) plus dataset_report.json."""
    import json
    from dataclasses import asdict

    import torch

    state = {f"codec.{k}": v.clone() for k, v in codec.state_dict().items()}
    state["discriminator.conv.weight"] = torch.randn(4, 1, 3)
    hparams = {"codec": asdict(codec.config), "dataset": {"dir": str(dataset_dir or "")}}
    if init_from:
        hparams["init_from"] = init_from
    checkpoint = {
        "epoch": 3,
        "global_step": 30,
        "pytorch-lightning_version": "2.6.0",
        "state_dict": state,
        "optimizer_states": [
            {"state": {0: {"step": torch.tensor(30.0)}}, "param_groups": [{"lr": 1e-3}]}
        ],
        "lr_schedulers": [],
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val/mel_distance', 'mode': 'min'}": {
                "monitor": "val/mel_distance",
                "best_model_score": torch.tensor(1.25),
                "best_model_path": str(run_dir / "checkpoints" / "best.ckpt"),
            }
        },
        "hyper_parameters": hparams,
    }
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, run_dir / "checkpoints" / "last.ckpt")
    if dataset_dir is not None:
        files = [
            {
                "path": str(p),
                "verdict": "ok",
                "reason": "",
                "flags": [],
                "seconds": 0.5,
                "sample_rate": SAMPLE_RATE,
                "channels": 1,
            }
            for p in sorted(dataset_dir.glob("*.wav"))
        ]
        report = {
            "folder": str(dataset_dir),
            "sample_rate": SAMPLE_RATE,
            "min_seconds": 0.1,
            "files": files,
        }
        (run_dir / "dataset_report.json").write_text(json.dumps(report), encoding="utf-8")
    return run_dir


def write_prior_run(run_dir: Path, prior, *, codec_source: Path, codec_fingerprint: str) -> Path:
    """A prior training-run folder (checkpoints/last.ckpt) that points at its codec."""
    from dataclasses import asdict

    import torch

    checkpoint = {
        "epoch": 1,
        "global_step": 15,
        "state_dict": {f"prior.{k}": v.clone() for k, v in prior.state_dict().items()},
        "optimizer_states": [],
        "hyper_parameters": {
            "prior": asdict(prior.config),
            "codec_source": str(codec_source),
            "codec_fingerprint": codec_fingerprint,
            "descriptor_stats": DESCRIPTOR_STATS,
        },
    }
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, run_dir / "checkpoints" / "last.ckpt")
    return run_dir


def run_cli(capsys, *args, stdin: str = "") -> tuple[int, str, str]:
    """Run `sda ARGS...` in-process exactly as the console script does; (exit code, stdout, stderr)."""
    import io
    import sys

    from sda.cli import main

    saved = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["sda", *(str(a) for a in args)], io.StringIO(stdin)
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.argv, sys.stdin = saved
    out, err = capsys.readouterr()
    return code, out, err


def run_group(command: list[str], *, cwd: Path, env: dict, timeout: float) -> tuple[int, str]:
    """Run `command` in its own process group; on a timeout kill the group, so a DDP rank stuck in
    a collective after its peer died (or a sweep's jobs) does not outlive the test."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, f"timed out after {timeout} s\n{output}"
    return process.returncode, output


def repo_script(relative: str, monkeypatch):
    """A script of the repository (e.g. "scripts/base_corpus.py"), loaded as a module under its
    file name, as its siblings import it; `monkeypatch` removes it from sys.modules afterwards
    (dataclasses look their module up there)."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, path.stem, module)
    spec.loader.exec_module(module)
    return module
