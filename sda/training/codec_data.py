"""Training data for the codec: random crops of a folder's recordings, validation on held-out ends.

Validation audio is the END of each long-enough file (random held-out segments would sit next to
training crops of the same passage and leak); a set of only short one-shots holds out whole files
instead. Small sets get augmentation by default: gain, polarity, mild varispeed and mixing.
Audio is read memory-mapped from the scan's cache, so memory follows the batch, not the set.
A stereo run (`channels=2`, or "auto" on a mostly stereo set) gives (batch, 2, samples) crops, every
augmentation acting on both channels alike; a mono run gives (batch, samples) as always.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sda.audio.dsp import resample_by_ratio
from sda.dataset.scan import DatasetReport, FileReport, load_available_audio, scan_folder
from sda.training.resumable_draws import DrawSeeds, ResumableLoader

log = logging.getLogger(__name__)

# Files up to this many crops long are drawn by duration; longer ones less (`crop_weights`): in a
# folder of one-shots beside a 10-minute track, the track took 96 % of the crops by duration.
BALANCE_FROM_CROPS = 10
SMALL_DATASET_SECONDS = 30 * 60  # below this, augmentation is on unless asked otherwise
MAX_VAL_SEGMENTS = 64  # validation stays quick however large the folder is


@dataclass(frozen=True)
class Augmentation:
    """Random changes applied to each training crop of a small dataset."""

    gain_db: tuple[float, float] = (-6.0, 3.0)
    polarity_flip: float = 0.5  # probability
    # Probability of adding a second random crop, mix_gain_db below the first: new combinations
    # of the same sounds (a kick under a hat, two textures layered), so a codec trained on a few
    # seconds of one-shots overfits less to the exact spectra it has seen.
    mix: float = 0.3
    mix_gain_db: tuple[float, float] = (-12.0, 0.0)
    varispeed: float = 0.5  # probability of a speed change
    # up/down resampling ratios near 1 (+-4..6 %, about a semitone) with small terms, so the
    # polyphase filter is short and cheap per crop.
    ratios: tuple[tuple[int, int], ...] = (
        (17, 16), (16, 17), (18, 17), (17, 18), (19, 18), (18, 19), (20, 19), (19, 20),
        (24, 23), (23, 24),
    )  # fmt: skip


@dataclass(frozen=True)
class Region:
    """Samples [start, end) of usable file number `file`."""

    file: int
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def split_regions(
    lengths: list[int], segment: int, val_fraction: float
) -> tuple[list[Region], list[Region]]:
    """Train and validation regions that never overlap.

    A file of at least two segments gives its last max(segment, val_fraction * length) samples to
    validation. Shorter files (one-shots) are held out whole instead: every k-th of them, k about
    1 / val_fraction, so a folder mixing a few long recordings with many one-shots still validates
    on one-shots. At least one file always stays for training.
    """
    train: list[Region] = []
    val: list[Region] = []
    if val_fraction <= 0:
        return [Region(i, 0, n) for i, n in enumerate(lengths)], []
    short = []
    for index, length in enumerate(lengths):
        if length >= 2 * segment:
            held = min(max(segment, int(round(val_fraction * length))), length - segment)
            train.append(Region(index, 0, length - held))
            val.append(Region(index, length - held, length))
        else:
            train.append(Region(index, 0, length))
            short.append(index)
    every = max(2, int(round(1 / val_fraction)))
    held_files = {index for n, index in enumerate(short) if n % every == every - 1}
    if not val and not held_files and len(lengths) >= 2:
        held_files = {short[-1]}  # a handful of one-shots still validates on one of them
    if held_files and len(held_files) < len(train):
        val += [region for region in train if region.file in held_files]
        train = [region for region in train if region.file not in held_files]
    return train, sorted(val, key=lambda region: region.file)


def validation_segments(regions: list[Region], segment: int) -> list[Region]:
    """Non-overlapping segment windows tiling the validation regions (at most MAX_VAL_SEGMENTS)."""
    windows = []
    for region in regions:
        starts = list(range(region.start, region.end - segment + 1, segment))
        leftover = region.end - (starts[-1] + segment if starts else region.start)
        if not starts or leftover >= segment // 2:  # a short tail still counts, zero-padded
            starts.append(region.end - leftover)
        windows += [Region(region.file, s, min(s + segment, region.end)) for s in starts]
    if len(windows) > MAX_VAL_SEGMENTS:
        picks = np.linspace(0, len(windows) - 1, MAX_VAL_SEGMENTS).round().astype(int)
        windows = [windows[i] for i in picks]
    return windows


class MappedAudio:
    """A cached recording's float32 audio, memory-mapped from its `.npy` file: (samples,), or
    (2, samples) for a stereo entry (stored interleaved as (samples, 2)).

    Pickles as its path: a DataLoader worker started by spawn (macOS, Windows) maps the same
    file instead of receiving a copy of the whole recording.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        self._array = array.T if array.ndim == 2 else array

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    def __len__(self) -> int:
        return self._array.shape[-1]

    def __getitem__(self, item):
        return self._array[item]

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])


def _mapped(audio: np.ndarray) -> MappedAudio | np.ndarray:
    filename = getattr(audio, "filename", None)  # np.memmap from the cache
    return MappedAudio(filename) if filename else audio


def default_num_workers(usable_seconds: float) -> int:
    """DataLoader workers: crops are cheap, so 0 unless the set is big and the machine Linux with
    at least 4 cores (macOS and Windows spawn workers by re-importing everything: slow to start)."""
    cores = os.cpu_count() or 1
    if not sys.platform.startswith("linux") or cores < 4 or usable_seconds < 10 * 60:
        return 0
    return 2


def crop_weights(regions: list[Region], segment: int, file_balance: float) -> np.ndarray:
    """How often each region is drawn. A file's share goes as its length (every file counting at
    least one crop long) up to BALANCE_FROM_CROPS crops; beyond that, as length ** (1 -
    file_balance), so a long recording does not drown a folder of short sounds: 0 draws by
    duration, 1 counts every long file as BALANCE_FROM_CROPS crops. A file's regions split its
    share by length."""
    if not 0.0 <= file_balance <= 1.0:
        raise ValueError(f"file_balance must lie in [0, 1], not {file_balance}")
    lengths = np.array([max(region.length, segment) for region in regions], dtype=np.float64)
    per_file: dict[int, float] = {}
    for region, length in zip(regions, lengths, strict=True):
        per_file[region.file] = per_file.get(region.file, 0.0) + float(length)
    totals = np.array([per_file[region.file] for region in regions])
    knee = BALANCE_FROM_CROPS * segment
    shares = np.where(totals > knee, knee * (totals / knee) ** (1.0 - file_balance), totals)
    weights = lengths / totals * shares
    return weights / weights.sum()


class RandomCrops(Dataset):
    """Item `seed` (from `DrawSeeds`) is one random (segment,) float32 crop of the training
    regions, or (2, segment) when the audio is stereo (augmented alike on both channels)."""

    def __init__(
        self,
        audio: list[np.ndarray],
        regions: list[Region],
        segment: int,
        *,
        augmentation: Augmentation | None,
        length: int,
        file_balance: float = 1.0,
    ) -> None:
        self.audio, self.regions, self.segment = audio, regions, segment
        self.augmentation, self.length = augmentation, length
        self.weights = crop_weights(regions, segment, file_balance)

    def __len__(self) -> int:
        return self.length

    def _read(self, region: Region, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` samples from a random place in the region, zero-padded if it is shorter."""
        source = self.audio[region.file]
        if region.length >= count:
            start = region.start + int(rng.integers(0, region.length - count + 1))
            return np.array(source[..., start : start + count], dtype=np.float32)
        out = np.zeros((*source.shape[:-1], count), dtype=np.float32)
        offset = int(rng.integers(0, count - region.length + 1))  # one-shots land anywhere
        out[..., offset : offset + region.length] = source[..., region.start : region.end]
        return out

    def _crop(self, rng: np.random.Generator) -> np.ndarray:
        """One (segment,) or (2, segment) crop of a random region, sped up or slowed down when
        augmenting."""
        region = self.regions[int(rng.choice(len(self.regions), p=self.weights))]
        aug = self.augmentation
        if aug is None or rng.random() >= aug.varispeed:
            return self._read(region, self.segment, rng)
        up, down = aug.ratios[int(rng.integers(len(aug.ratios)))]
        margin = 64  # filter edge effects fall in the margin and are cut away
        need = int(np.ceil(self.segment * down / up)) + 2 * margin
        stretched = resample_by_ratio(self._read(region, need, rng), up, down)
        skip = margin * up // down
        crop = stretched[..., skip : skip + self.segment]
        padding = [(0, 0)] * (crop.ndim - 1) + [(0, self.segment - crop.shape[-1])]
        return np.pad(crop, padding)

    def __getitem__(self, seed: int) -> torch.Tensor:
        rng = np.random.default_rng(seed)
        crop = self._crop(rng)
        aug = self.augmentation
        if aug is not None:
            if rng.random() < aug.mix:
                crop = crop + self._crop(rng) * np.float32(
                    10 ** (rng.uniform(*aug.mix_gain_db) / 20)
                )
            crop = crop * np.float32(10 ** (rng.uniform(*aug.gain_db) / 20))
            if rng.random() < aug.polarity_flip:
                crop = -crop
            peak = float(np.max(np.abs(crop)))
            if peak > 1.0:  # gain never pushes a crop past full scale
                crop = crop / peak
        # (samples,) or (2, samples)
        return torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32))


class FixedSegments(Dataset):
    """Validation windows, each (segment,) float32 ((2, segment) for stereo audio), zero-padded
    at the end when short."""

    def __init__(self, audio: list[np.ndarray], windows: list[Region], segment: int) -> None:
        self.audio, self.windows, self.segment = audio, windows, segment

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> torch.Tensor:
        window = self.windows[index]
        source = self.audio[window.file]
        out = np.zeros((*source.shape[:-1], self.segment), dtype=np.float32)
        out[..., : window.length] = source[..., window.start : window.end]
        return torch.from_numpy(out)  # (samples,) or (2, samples)


class AudioDataModule(L.LightningDataModule):
    """A folder of recordings as (batch, samples) float32 training and validation batches, or
    (batch, 2, samples) in a stereo run.

    An epoch is `steps_per_epoch` batches of fresh random crops (folders are too small for
    "one pass over the data" to mean much). `augment=None` turns augmentation on for sets under
    30 minutes. `num_workers=None` picks `default_num_workers`. `cache_dir=None` uses the user
    cache for decoded audio. `channels` is 1, 2 or "auto" (stereo when most of the usable seconds
    are stereo); after `scan()`, `self.channels` holds the resolved 1 or 2. `file_balance`: how
    the crops are shared out among files (`crop_weights`).
    """

    def __init__(
        self,
        *,
        dir: str | os.PathLike,
        sample_rate: int = 48000,
        segment_seconds: float = 1.0,
        batch_size: int = 8,
        val_fraction: float = 0.1,
        augment: bool | None = None,
        num_workers: int | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
        steps_per_epoch: int = 200,
        channels: int | str = 1,
        file_balance: float = 1.0,
    ) -> None:
        super().__init__()
        self.dir = Path(dir).expanduser()
        self.sample_rate = int(sample_rate)
        self.segment_samples = int(round(segment_seconds * sample_rate))
        self.segment_seconds = float(segment_seconds)
        self.batch_size = int(batch_size)
        self.val_fraction = float(val_fraction)
        self.augment = augment
        self.num_workers = num_workers
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.steps_per_epoch = int(steps_per_epoch)
        self.channels: int | str = channels
        self.file_balance = float(file_balance)
        self._report: DatasetReport | None = None
        self.audio: list[np.ndarray | MappedAudio] = []
        self.lost: list[FileReport] = []  # usable at the scan, gone or changed by training time
        self.train_regions: list[Region] = []
        self.val_regions: list[Region] = []
        self.train_set: RandomCrops | None = None
        self.val_set: FixedSegments | None = None

    def scan(self) -> DatasetReport:
        """Scan the folder once (cached); raises DatasetError when nothing is usable."""
        if self._report is None:
            report = scan_folder(
                self.dir,
                sample_rate=self.sample_rate,
                min_seconds=self.segment_seconds,
                cache_dir=self.cache_dir,
                channels=self.channels,
            )
            report.require_usable()
            self.channels = report.channels
            # folders not entered, a cache disk too full, files skipped and why
            for line in report.warnings():
                log.warning("data: %s", line)
            self._report = report
        return self._report

    @property
    def report(self) -> DatasetReport:
        return self.scan()

    @property
    def augmentation(self) -> Augmentation | None:
        augment = self.augment
        if augment is None:
            augment = self.scan().usable_seconds < SMALL_DATASET_SECONDS
        return Augmentation() if augment else None

    @property
    def has_validation(self) -> bool:
        return self.val_set is not None and len(self.val_set) > 0

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        report = self.scan()
        found = load_available_audio(report, mmap=report.cache_dir is not None)
        self.lost = found.lost  # each logged by the loader; training goes on without them
        self.audio = [_mapped(audio) for audio in found.audio]
        self.train_regions, self.val_regions = split_regions(
            [audio.shape[-1] for audio in self.audio], self.segment_samples, self.val_fraction
        )
        self.train_set = RandomCrops(
            self.audio,
            self.train_regions,
            self.segment_samples,
            augmentation=self.augmentation,
            length=self.steps_per_epoch * self.batch_size,
            file_balance=self.file_balance,
        )
        windows = validation_segments(self.val_regions, self.segment_samples)
        self.val_set = FixedSegments(self.audio, windows, self.segment_samples)

    def _workers(self) -> int:
        if self.num_workers is not None:
            return self.num_workers
        return default_num_workers(self.scan().usable_seconds)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        workers = self._workers()
        return ResumableLoader(  # a resume carries on with new crops (resumable_draws.py)
            self.train_set,
            batch_size=self.batch_size,
            sampler=DrawSeeds(len(self.train_set), self.seed),
            num_workers=workers,
            persistent_workers=workers > 0,
            drop_last=True,
        )

    def val_dataloader(self) -> DataLoader | list:
        self.setup("validate")
        if not self.has_validation:
            return []  # a lone short file has nothing to hold out; Lightning skips validation
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False)

    def example_segments(self, count: int = 4) -> torch.Tensor:
        """Fixed held-out clips spread over the validation set, for listening in TensorBoard."""
        self.setup("validate")
        if not self.has_validation:
            lead = (2,) if self.channels == 2 else ()
            return torch.zeros(0, *lead, self.segment_samples)
        picks = np.linspace(0, len(self.val_set) - 1, min(count, len(self.val_set))).round()
        # (count, samples) or (count, 2, samples)
        return torch.stack([self.val_set[int(i)] for i in picks])
