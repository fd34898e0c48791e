"""Training data for the prior: a folder encoded once by the codec, then random windows of codes.

Each file is encoded at a few sub-frame time shifts (a shift of a quarter frame gives other codes
for the same music, multiplying a small set) and analysed for the musical descriptors; both are
cached on disk keyed by the codec fingerprint and the file. A training example is a random window of
`context_frames` frames of one shift plus, for every frame, the descriptors of the audio that comes
next (the following `lookahead_seconds`), normalised by `DescriptorStats` fitted on the training
part. Describing what comes next, not what was, is what makes the prior listen to its controls: the
past codes already tell it what the past sounded like. Validation uses the end of each long-enough
file, like the codec's data.

At scale: audio is memory-mapped from the scan's cache; a copy (variant) is made only when its
codes are not cached, and a long recording's copy streams through a scratch file instead of
memory; each recording's codes are saved as soon as they are encoded, so an interrupted setup
resumes where it stopped.

A stereo model (`codec.config.channels == 2`) reads each recording as (2, samples) (a mono one
(samples,) counts as centred: its side is silence); its codes are the mid's and the side's
grids stacked, (grid_levels, frames) (`sda.models.stereo_grid`), and its descriptors are measured
on the downmix, which is the mid. A mono model's path is the one it always had.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sda.audio.control_fidelity import FIDELITY_KEY
from sda.audio.descriptors import DescriptorFrames, DescriptorStats, aggregate, analyse
from sda.dataset import AudioCache, DatasetReport, FileReport, scan_folder
from sda.dataset.cache_space import prior_codes_dir
from sda.dataset.scan import load_available_audio
from sda.models.stereo_codec import StereoCodec, is_stereo
from sda.models.stereo_grid import stack_grids
from sda.training.codec_fidelity import measure_fidelity
from sda.training.prior_variants import Variant
from sda.training.resumable_draws import DrawSeeds, ResumableLoader
from sda.training.stream_gaps import stream_gaps

log = logging.getLogger(__name__)

CACHE_VERSION = 1
ENCODE_CHUNK_SECONDS = 30.0  # bounds the codec's memory on long files
MAX_VAL_WINDOWS = 32
STREAM_SECONDS = 60.0  # short one-shots are chained into streams about this long
GAP_SECONDS = 0.05  # the shortest silence between chained one-shots
CONTROL_BLOCK_FRAMES = 8  # controls change every 8 frames (~0.17 s at 47 frames/s)
LONG_COPY_SAMPLES = 10 * 60 * 48000  # copies of recordings longer than this go through a file
MATERIAL_LEVEL_KEY = "material_level"  # kept beside the controls' ranges in the descriptor stats


@dataclass
class EncodedFile:
    """One recording as the prior sees it."""

    codes: list[np.ndarray]  # per time shift: (grid_levels, frames) int16
    descriptors: DescriptorFrames
    shifts: list[int]  # samples dropped from the start before encoding, per entry of `codes`
    samples_per_frame: int
    track: np.ndarray | None = None  # (blocks, 6) raw descriptors of what follows each block start

    @property
    def frames(self) -> int:
        return self.codes[0].shape[1]

    def raw_descriptors(self, shift: int, start: int, frames: int) -> np.ndarray:
        """Raw descriptors (6,) of the audio behind codes[shift][:, start:start + frames]."""
        first = self.shifts[shift] + start * self.samples_per_frame
        return aggregate(self.descriptors, first, first + frames * self.samples_per_frame)

    def measure_track(self, lookahead: int) -> None:
        """Fill `track`: per block of CONTROL_BLOCK_FRAMES frames, the next `lookahead` frames."""
        starts = range(0, max(self.frames, 1), CONTROL_BLOCK_FRAMES)
        self.track = np.stack(
            [self.raw_descriptors(0, s, max(1, min(lookahead, self.frames - s))) for s in starts]
        )

    def window_controls(self, start: int, frames: int) -> np.ndarray:
        """(frames, 6) raw controls for the frames start..start+frames (the last block repeats)."""
        blocks = (start + np.arange(frames)) // CONTROL_BLOCK_FRAMES
        return self.track[np.minimum(blocks, len(self.track) - 1)]


def default_prior_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    return prior_codes_dir(cache_dir)


def centred(audio: np.ndarray) -> np.ndarray:
    """(samples,) mono -> (2, samples) with L = R (a centred sound: its side is silence);
    (2, samples) as it is."""
    audio = np.asarray(audio, dtype=np.float32)
    return np.stack([audio, audio]) if audio.ndim == 1 else audio


def _grid_encoder(codec, device) -> Callable[[np.ndarray], torch.Tensor]:
    """pieces (batch, samples) -> (batch, levels, frames); for a stereo codec pieces are
    (batch, 2, samples) -> (batch, grid_levels, frames): the mid's grid, then the side's."""
    if not is_stereo(codec):
        return lambda pieces: codec.encode(torch.from_numpy(pieces).to(device))
    stereo = StereoCodec.of(codec)

    def encode(pieces: np.ndarray) -> torch.Tensor:
        codes = stereo.encode(torch.from_numpy(pieces).to(device))
        return stack_grids(codes.mid, codes.side)

    return encode


@torch.inference_mode()
def _encode(codec, audio: np.ndarray, offsets: list[int]) -> list[np.ndarray]:
    """(samples,) -> per offset, the (levels, frames) int16 codes of audio[offset:]; a stereo
    codec takes (2, samples) (or centred mono) and gives (grid_levels, frames) stacked grids.

    Chunks of whole frames bound the codec's memory on long files; the shifted copies of each
    full chunk go through the codec as one batch (each row is exactly what it would be alone).
    """
    spf = codec.config.samples_per_frame
    chunk = max(spf, int(ENCODE_CHUNK_SECONDS * codec.config.sample_rate) // spf * spf)
    encode = _grid_encoder(codec, next(codec.parameters()).device)
    shape = centred if is_stereo(codec) else np.asarray
    parts: list[list[torch.Tensor]] = [[] for _ in offsets]
    for start in range(0, max(audio.shape[-1], 1), chunk):
        pieces = [
            shape(np.array(audio[..., o + start : o + start + chunk], np.float32)) for o in offsets
        ]
        if all(piece.shape[-1] == chunk for piece in pieces):
            codes = encode(np.stack(pieces))
            for row, codes_row in zip(parts, codes, strict=True):
                row.append(codes_row)  # (levels, frames)
            continue
        for row, piece in zip(parts, pieces, strict=True):  # the ends: each its own length
            if piece.shape[-1] or not row:
                row.append(encode(piece[None])[0])
    return [torch.cat(row, dim=1).cpu().numpy().astype(np.int16) for row in parts]


def pack_short_sounds(
    keys: list[str],
    audio: list[np.ndarray],
    *,
    min_samples: int,
    gap: int,
    stream_samples: int,
    seed: int,
    longest_gap: int = 0,
) -> list[tuple[str, np.ndarray]]:
    """(key, audio) per recording: long files alone, short ones chained into streams.

    A one-shot shorter than the prior's window would teach it only "a sound, then nothing"; chained
    in a seeded random order with silences between them, windows show the prior what comes after a
    hit ends: another one. The silences run from `gap` to `longest_gap` samples in passages
    (stream_gaps.py), so the prior hears sparse and busy playing and its density control has both
    to point at. Streams stay about `stream_samples` long. Recordings are (samples,) or, for a
    stereo model, (2, samples); a stream mixing both holds the mono ones centred.
    """
    out = [(k, a) for k, a in zip(keys, audio, strict=True) if a.shape[-1] >= min_samples]
    short = [i for i, a in enumerate(audio) if a.shape[-1] < min_samples]
    stereo = any(audio[i].ndim == 2 for i in short)
    rng = np.random.default_rng(seed)
    order = rng.permutation(short)
    gaps = stream_gaps(len(order), shortest=gap, longest=longest_gap, rng=rng)
    stream: list[int] = []
    for position in range(len(order)):
        stream.append(position)
        size = sum(audio[order[p]].shape[-1] + gaps[p] for p in stream)
        if size >= stream_samples or position == len(order) - 1:
            silences = [gaps[p] for p in stream]
            names = "|".join(keys[order[p]] for p in stream)
            key = hashlib.sha256(f"{names}|{silences}".encode())
            parts = [
                centred(piece) if stereo else piece
                for p in stream
                for piece in (audio[order[p]], np.zeros(gaps[p], dtype=np.float32))
            ]
            out.append((f"stream:{key.hexdigest()}", np.concatenate(parts, axis=-1)))
            stream = []
    return out


def _read_cached(target: Path, shifts: int) -> tuple[list[np.ndarray], DescriptorFrames]:
    with np.load(target, allow_pickle=False) as stored:
        values = {key: stored[key] for key in stored.files}
    codes = [values.pop(f"codes_{i}") for i in range(shifts)]
    values["sample_rate"], values["hop"] = int(values["sample_rate"]), int(values["hop"])
    return codes, DescriptorFrames(**values)


def encode_recording(
    codec,
    key: str,
    audio: np.ndarray | Callable[[], np.ndarray],
    *,
    shifts: int,
    fingerprint: str,
    cache: Path | None,
) -> EncodedFile:
    """Codes at `shifts` sub-frame offsets + descriptor frames, from the cache when possible.

    `audio` may be a function that makes it: then it is only made when the codes are not cached.
    """
    spf = codec.config.samples_per_frame
    offsets = sorted({round(i * spf / shifts) for i in range(shifts)})
    target = None
    if cache is not None:
        ident = f"v{CACHE_VERSION}|{fingerprint}|{key}|{offsets}"
        target = cache / f"{hashlib.sha256(ident.encode()).hexdigest()}.npz"
        if target.is_file():
            try:
                return EncodedFile(*_read_cached(target, len(offsets)), offsets, spf)
            except (OSError, KeyError, ValueError, TypeError):
                log.warning("re-encoding %s: its cache entry is unreadable", key)
    if callable(audio):
        audio = audio()
    codes = _encode(codec, audio, offsets)
    frames = min(c.shape[1] for c in codes)  # shifted copies may be one frame shorter
    codes = [c[:, :frames] for c in codes]
    descriptors = analyse(audio, codec.config.sample_rate)
    if target is not None:
        _save_codes(target, codes, descriptors)
    return EncodedFile(codes, descriptors, offsets, spf)


def _save_codes(target: Path, codes: list[np.ndarray], descriptors: DescriptorFrames) -> None:
    """Atomically, and best effort: a full or read-only cache disk only costs the next start."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp.npz")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savez(temp, **{f"codes_{i}": c for i, c in enumerate(codes)}, **vars(descriptors))
        os.replace(temp, target)
    except OSError as error:
        log.warning(
            "prior codes not cached at %s (%s): they are encoded again next time",
            target.parent,
            error,
        )
        temp.unlink(missing_ok=True)


@contextmanager
def variant_audio(variant: Variant, sound: np.ndarray, scratch: Path | None):
    """`variant.apply(sound)`; a long recording's copy is streamed into a scratch file in
    `scratch` (memory-mapped, deleted afterwards) so it never sits whole in memory."""
    if variant.is_original or sound.shape[-1] < LONG_COPY_SAMPLES or scratch is None:
        yield variant.apply(sound)
        return
    scratch.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".copy-", suffix=".tmp.npy", dir=scratch)
    os.close(handle)
    try:
        shape = (*sound.shape[:-1], variant.length(sound.shape[-1]))  # (samples,) or (2, samples)
        out = np.lib.format.open_memmap(name, mode="w+", dtype=np.float32, shape=shape)
        filled = 0
        for block in variant.apply_in_blocks(sound):
            out[..., filled : filled + block.shape[-1]] = block
            filled += block.shape[-1]
        out.flush()
        yield out
        del out
    finally:
        Path(name).unlink(missing_ok=True)


def _original_level(sound: np.ndarray, block: int = 1 << 20) -> tuple[float, float]:
    """(peak, mean square) of one recording, read in blocks (it may be memory-mapped and long);
    a stereo one's over both channels."""
    peak, energy = 0.0, 0.0
    for start in range(0, sound.shape[-1], block):
        piece = np.asarray(sound[..., start : start + block], dtype=np.float64).ravel()
        peak = max(peak, float(np.abs(piece).max()))
        energy += float(np.dot(piece, piece))
    return peak, energy / max(sound.size, 1)


def material_level(audio: list[np.ndarray]) -> dict[str, float | None]:
    """Median peak and median RMS (dBFS) of the original training files, one value per file.

    Takes are brought to this peak at render: the prior also learns from quieter copies
    (prior_variants.py) and the codec loses level on attacks, so takes otherwise come out quiet.
    """
    sounds = [_original_level(a) for a in audio if a.shape[-1]]
    peaks = [20 * np.log10(max(peak, 1e-10)) for peak, _ in sounds]
    rms = [10 * np.log10(max(mean_square, 1e-20)) for _, mean_square in sounds]
    return {
        "peak_dbfs": round(float(np.median(peaks)), 2) if sounds else None,
        "rms_dbfs": round(float(np.median(rms)), 2) if sounds else None,
        "files": len(sounds),
    }


def pad_window(codes: np.ndarray, frames: int, pad: int) -> np.ndarray:
    """(levels, n <= frames) -> (levels, frames), `pad` after the end of a short sound."""
    out = np.full((codes.shape[0], frames), pad, dtype=np.int64)
    out[:, : codes.shape[1]] = codes
    return out


class RandomWindows(Dataset):
    """`length` random (codes, controls) windows per epoch; files weighted by their length."""

    def __init__(
        self,
        files: list[EncodedFile],
        limits: list[int],  # usable frames per file (the rest is held out)
        *,
        frames: int,
        pad: int,
        stats: DescriptorStats,
        length: int,
    ) -> None:
        self.files, self.limits, self.frames, self.pad = files, limits, frames, pad
        self.stats, self.length = stats, length
        weights = np.array([max(limit, frames // 4) for limit in limits], dtype=np.float64)
        self.weights = weights / weights.sum()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, seed: int) -> dict[str, torch.Tensor]:
        # item `seed` from DrawSeeds: reproducible, independent across loader workers, and new
        # after a resume (resumable_draws.py)
        rng = np.random.default_rng(seed)
        number = int(rng.choice(len(self.files), p=self.weights))
        file, limit = self.files[number], self.limits[number]
        shift = int(rng.integers(len(file.codes)))
        size = min(self.frames, limit)
        start = int(rng.integers(0, limit - size + 1))
        codes = pad_window(file.codes[shift][:, start : start + size], self.frames, self.pad)
        controls = self.stats.normalize(file.window_controls(start, self.frames))
        return {"codes": torch.from_numpy(codes), "controls": torch.from_numpy(controls).float()}


class FixedWindows(Dataset):
    """Validation: fixed windows (file, start, frames), unshifted."""

    def __init__(self, files, windows, *, frames: int, pad: int, stats: DescriptorStats) -> None:
        self.files, self.windows, self.frames, self.pad, self.stats = (
            files,
            windows,
            frames,
            pad,
            stats,
        )

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        number, start, size = self.windows[index]
        file = self.files[number]
        codes = pad_window(file.codes[0][:, start : start + size], self.frames, self.pad)
        controls = self.stats.normalize(file.window_controls(start, self.frames))
        return {"codes": torch.from_numpy(codes), "controls": torch.from_numpy(controls).float()}


def split_files(
    frames: list[int], window: int, val_fraction: float
) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Training limit per file, and validation windows (file, start, frames) from the held-out ends."""
    limits, windows = [], []
    for number, count in enumerate(frames):
        held = max(window, int(count * val_fraction)) if val_fraction > 0 else 0
        if val_fraction > 0 and count >= 2 * window and count - held >= window:
            limits.append(count - held)
            for start in range(count - held, count - window + 1, window):
                windows.append((number, start, window))
        else:
            limits.append(count)
    return limits, windows[:MAX_VAL_WINDOWS]


def variant_limits(
    frames: list[int], sources: list[int], own_frames: list[int], own_limits: list[int]
) -> list[int]:
    """Training frames per file, each copy holding out the same part as its original.

    File i is a copy of original `sources[i]`, which has `own_frames` frames of which `own_limits`
    train; a faster copy is shorter, but its held-out end is the same music, kept out of training.
    """
    return [
        count * own_limits[source] // max(own_frames[source], 1)
        for count, source in zip(frames, sources, strict=True)
    ]


def grid_windows(limits: list[int], window: int) -> list[tuple[int, int, int]]:
    """Half-overlapping windows over the training part of each file (for fitting the stats)."""
    spans = []
    for number, limit in enumerate(limits):
        size = min(window, limit)
        spans.extend(
            (number, start, size) for start in range(0, limit - size + 1, max(1, window // 2))
        )
    return spans


class PriorDataModule(L.LightningDataModule):
    """Encodes `dir` with `codec` on setup; batches are {"codes": (batch, levels, frames) long,
    "controls": (batch, frames, 6) float in 0..1}. Codes past the end of a short sound hold `pad`.
    A stereo codec's rows are its `grid_levels`: the mid's levels, then the side's."""

    def __init__(
        self,
        *,
        codec,
        dir: str | os.PathLike,
        context_frames: int,
        pad: int,
        sample_rate: int | None = None,
        batch_size: int = 16,
        val_fraction: float = 0.1,
        shifts: int = 4,
        steps_per_epoch: int = 200,
        num_workers: int = 0,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
        stats: DescriptorStats | None = None,  # given when resuming: keep the controls' meaning
        pack_short: bool = True,  # chain sounds shorter than the window into streams
        longest_gap_seconds: float = 0.0,  # >GAP_SECONDS: chained silences vary up to this
        lookahead_seconds: float = 1.0,  # each frame's controls describe this much audio ahead
        variants: list[Variant] | None = None,  # copies at other speeds/levels (prior_variants.py)
    ) -> None:
        super().__init__()
        self.codec, self.dir, self.frames, self.pad = (
            codec,
            Path(dir).expanduser(),
            context_frames,
            pad,
        )
        self.sample_rate = int(sample_rate or codec.config.sample_rate)
        self.batch_size, self.val_fraction, self.shifts = batch_size, val_fraction, max(1, shifts)
        self.steps_per_epoch, self.num_workers, self.seed = steps_per_epoch, num_workers, seed
        self.cache_dir, self.use_cache, self.stats = cache_dir, use_cache, stats
        self.pack_short, self.lookahead_seconds = pack_short, lookahead_seconds
        self.longest_gap_seconds = longest_gap_seconds
        self.variants = [v for v in (variants or []) if not v.is_original]
        self.report: DatasetReport | None = None
        self.files: list[EncodedFile] = []
        self.level: dict[str, float | None] | None = None  # `material_level` of the originals
        self.fidelity: dict[str, float] = {}  # {control: rho}, `codec_fidelity.measure_fidelity`
        self.lost: list[FileReport] = []  # usable at the scan, gone or changed by setup time

    def scan(self) -> DatasetReport:
        if self.report is None:
            self.report = scan_folder(
                self.dir,
                sample_rate=self.sample_rate,
                cache_dir=self.cache_dir,
                use_cache=self.use_cache,
                channels=2 if is_stereo(self.codec) else 1,  # a stereo codec's prior reads L/R
            )
            self.report.require_usable()
            # folders not entered, a cache disk too full, files skipped and why
            for line in self.report.warnings():
                log.warning("prior data: %s", line)
        return self.report

    def setup(self, stage: str | None = None) -> None:
        if self.files:
            return
        report = self.scan()
        cache = default_prior_cache_dir(self.cache_dir) if self.use_cache else None
        fingerprint = self.codec.fingerprint()
        was_training = self.codec.training
        self.codec.eval()
        found = load_available_audio(report, mmap=report.cache_dir is not None)
        self.lost = found.lost  # each logged by the loader; training goes on without them
        audio = found.audio
        self.level = material_level(audio)  # before packing and variants: the files as they are
        rate, spf = self.codec.config.sample_rate, self.codec.config.samples_per_frame
        keys = [
            AudioCache(cache).key(entry.path, rate) if cache else str(entry.path)
            for entry in found.entries
        ]
        recordings = list(zip(keys, audio, strict=True))
        if self.pack_short:
            recordings = pack_short_sounds(
                keys,
                audio,
                min_samples=self.frames * spf,
                gap=int(GAP_SECONDS * rate),
                stream_samples=int(STREAM_SECONDS * rate),
                seed=self.seed,
                longest_gap=int(self.longest_gap_seconds * rate),
            )
        self.files, sources = [], []
        for number, (key, sound) in enumerate(recordings):
            for variant in (Variant(), *self.variants):  # the original first: it is validated
                with ExitStack() as scratch_files:

                    def make_copy(variant=variant, sound=sound, stack=scratch_files):
                        return stack.enter_context(variant_audio(variant, sound, cache))

                    self.files.append(
                        encode_recording(
                            self.codec,
                            key + variant.key,
                            make_copy,  # only made when its codes are not cached
                            shifts=self.shifts,
                            fingerprint=fingerprint,
                            cache=cache,
                        )
                    )
                sources.append(number)
        self.codec.train(was_training)
        originals = [sources.index(number) for number in range(len(recordings))]
        own_frames = [self.files[i].frames for i in originals]
        own_limits, val = split_files(own_frames, self.frames, self.val_fraction)
        self.val_windows = [(originals[number], start, size) for number, start, size in val]
        self.limits = variant_limits(
            [f.frames for f in self.files], sources, own_frames, own_limits
        )
        if not self.val_windows:  # only short sounds: watch a few training windows instead
            log.warning("prior data: too little audio to hold out; validating on training windows")
            self.val_windows = grid_windows(self.limits, self.frames)[:8]
        lookahead = max(1, round(self.lookahead_seconds * self.codec.config.frame_rate))
        for file in self.files:
            file.measure_track(lookahead)
        if self.stats is None:  # over the training part only
            raw = [
                f.track[: -(-limit // CONTROL_BLOCK_FRAMES)]
                for f, limit in zip(self.files, self.limits, strict=True)
            ]
            self.stats = DescriptorStats.fit(np.concatenate(raw))
        self.fidelity = measure_fidelity(self.codec, [self.files[i] for i in originals])
        log.info(  # short sounds are packed into streams, each encoded as several copies
            "prior data: %d files as %d sequences x %d copies, %d training frames, "
            "%d validation windows",
            len(report.usable), len(recordings), 1 + len(self.variants), sum(self.limits),
            len(self.val_windows),
        )  # fmt: skip

    def stats_record(self) -> dict:
        """The descriptor stats as the prior's checkpoint keeps them, with the material's level and
        how well the codec keeps each control (`sda.training.codec_fidelity`)."""
        return {
            **self.stats.to_dict(),
            MATERIAL_LEVEL_KEY: self.level,
            FIDELITY_KEY: self.fidelity,
        }

    def train_dataloader(self) -> DataLoader:
        dataset = RandomWindows(
            self.files, self.limits, frames=self.frames, pad=self.pad, stats=self.stats,
            length=self.steps_per_epoch * self.batch_size,
        )  # fmt: skip
        return ResumableLoader(  # a resume carries on with new windows (resumable_draws.py)
            dataset,
            batch_size=self.batch_size,
            sampler=DrawSeeds(len(dataset), self.seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_windows:
            return []
        dataset = FixedWindows(
            self.files, self.val_windows, frames=self.frames, pad=self.pad, stats=self.stats
        )
        return DataLoader(dataset, batch_size=self.batch_size)
