"""AudioDataModule: crops, a validation split that never overlaps training, augmentation, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sda.audio.io import write_audio
from sda.dataset import DatasetError
from sda.training.codec_data import (
    AudioDataModule,
    MappedAudio,
    Region,
    crop_weights,
    default_num_workers,
    split_regions,
    validation_segments,
)

SR = 48000
SEGMENT = SR // 4  # 0.25 s crops keep the tests quick


def _ramp_file(path, samples: int, offset: int) -> None:
    """Every sample value unique across files (exact in float32), so crops can be traced back."""
    values = (np.arange(samples, dtype=np.float64) + offset + 1) * 2.0**-22
    write_audio(path, values.astype(np.float32), SR, subtype="FLOAT")


@pytest.fixture
def ramp_folder(tmp_path):
    folder = tmp_path / "ramps"
    lengths = [SR * 2, SR, SR // 10, int(SR * 1.3)]
    offset = 0
    for index, length in enumerate(lengths):
        _ramp_file(folder / f"{index}.wav", length, offset)
        offset += length
    return folder


def _module(folder, tmp_path, **kwargs) -> AudioDataModule:
    options = dict(
        dir=folder,
        segment_seconds=SEGMENT / SR,
        batch_size=4,
        cache_dir=tmp_path / "cache",
        steps_per_epoch=25,
        num_workers=0,
    )
    return AudioDataModule(**{**options, **kwargs})


def test_split_regions_never_overlap_and_cover_each_file():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lengths = rng.integers(1, 10 * SEGMENT, size=int(rng.integers(1, 8))).tolist()
        fraction = float(rng.choice([0.05, 0.1, 0.25, 0.5]))
        train, val = split_regions(lengths, SEGMENT, fraction)
        assert train, "something must always be left to train on"
        for region in val:
            for other in train:
                if other.file == region.file:
                    assert other.end <= region.start  # validation is the END, after training
        covered = sorted((r.file, r.start, r.end) for r in train + val)
        for index, length in enumerate(lengths):
            spans = [(s, e) for f, s, e in covered if f == index]
            assert spans[0][0] == 0 and spans[-1][1] == length
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_long_files_hold_out_their_end():
    train, val = split_regions([10 * SEGMENT, 3 * SEGMENT, SEGMENT], SEGMENT, 0.1)
    assert val == [Region(0, 9 * SEGMENT, 10 * SEGMENT), Region(1, 2 * SEGMENT, 3 * SEGMENT)]
    assert Region(2, 0, SEGMENT) in train  # the short file trains whole


def test_a_set_of_one_shots_holds_out_whole_files():
    train, val = split_regions([SEGMENT // 2] * 10, SEGMENT, 0.1)
    assert [r.file for r in val] == [9] and len(train) == 9
    train, val = split_regions([SEGMENT // 2], SEGMENT, 0.1)
    assert val == [] and len(train) == 1


def test_validation_windows_tile_without_overlap():
    windows = validation_segments([Region(0, 100, 100 + 3 * SEGMENT + SEGMENT // 2)], SEGMENT)
    assert [w.start for w in windows] == [100 + i * SEGMENT for i in range(4)]
    assert windows[-1].length == SEGMENT // 2


def test_no_sample_is_both_trained_on_and_validated(ramp_folder, tmp_path):
    module = _module(ramp_folder, tmp_path, augment=False)
    module.setup("fit")
    train_values = set()
    for batch in module.train_dataloader():
        train_values.update(batch.flatten().tolist())
    val_values = set()
    for batch in module.val_dataloader():
        val_values.update(batch.flatten().tolist())
    train_values.discard(0.0)  # padding
    val_values.discard(0.0)
    assert val_values and train_values
    assert not train_values & val_values
    # Validation really is the end of each long file; the short one trains whole.
    for index in (0, 1, 3):
        assert float(module.audio[index][-1]) in val_values
    assert not set(np.asarray(module.audio[2]).tolist()) & val_values


def test_batches_shapes_and_epoch_length(ramp_folder, tmp_path):
    module = _module(ramp_folder, tmp_path)
    loader = module.train_dataloader()
    assert len(loader) == 25
    batch = next(iter(loader))
    assert batch.shape == (4, SEGMENT) and batch.dtype == torch.float32
    val = next(iter(module.val_dataloader()))
    assert val.shape[1] == SEGMENT and val.dtype == torch.float32
    assert module.example_segments(2).shape == (2, SEGMENT)


def test_seeded_crops_repeat_and_differ(ramp_folder, tmp_path):
    first = next(iter(_module(ramp_folder, tmp_path, seed=3).train_dataloader()))
    again = next(iter(_module(ramp_folder, tmp_path, seed=3).train_dataloader()))
    other = next(iter(_module(ramp_folder, tmp_path, seed=4).train_dataloader()))
    assert torch.equal(first, again) and not torch.equal(first, other)
    loader = _module(ramp_folder, tmp_path, seed=3).train_dataloader()
    epoch_one, epoch_two = next(iter(loader)), next(iter(loader))
    assert not torch.equal(epoch_one, epoch_two)  # a new epoch draws new crops


def test_augmentation_is_on_for_small_sets_and_stays_in_range(tmp_path):
    folder = tmp_path / "loud"
    rng = np.random.default_rng(0)
    write_audio(folder / "a.wav", rng.uniform(-0.99, 0.99, SR * 2).astype(np.float32), SR)
    module = _module(folder, tmp_path)
    assert module.augmentation is not None
    assert _module(folder, tmp_path, augment=False).augmentation is None
    crops = torch.cat(list(module.train_dataloader()))
    assert crops.abs().max() <= 1.0
    # Polarity and gain vary: both signs of the crop mean level and several peak levels appear.
    peaks = crops.abs().amax(dim=1)
    assert peaks.max() / peaks.min() > 1.5


def test_varispeed_changes_pitch(tmp_path):
    folder = tmp_path / "tone"
    t = np.arange(SR * 2) / SR
    write_audio(folder / "a.wav", (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), SR)
    module = _module(folder, tmp_path, steps_per_epoch=20, val_fraction=0.0)
    module.setup("fit")
    peaks = set()
    for seed in range(60):
        crop = module.train_set[seed].numpy()
        spectrum = np.abs(np.fft.rfft(crop * np.hanning(len(crop))))
        peaks.add(round(float(np.fft.rfftfreq(len(crop), 1 / SR)[np.argmax(spectrum)]), -1))
    assert 1000 in peaks and len(peaks) >= 3 and all(930 <= p <= 1070 for p in peaks)


def test_mixing_layers_two_crops_sometimes(tmp_path):
    folder = tmp_path / "tones"
    t = np.arange(SR * 2) / SR
    for name, hz in (("low", 500), ("high", 5000)):
        write_audio(
            folder / f"{name}.wav", (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), SR
        )
    module = _module(folder, tmp_path, steps_per_epoch=20, val_fraction=0.0)
    module.setup("fit")
    both = 0
    for seed in range(60):
        spectrum = np.abs(np.fft.rfft(module.train_set[seed].numpy()))
        freqs = np.fft.rfftfreq(SEGMENT, 1 / SR)
        low = spectrum[(freqs > 400) & (freqs < 600)].max()
        high = spectrum[(freqs > 4000) & (freqs < 6000)].max()
        both += min(low, high) > 0.05 * max(low, high)
    assert 5 <= both <= 40  # about 30 % of crops (same-file mixes show one tone only)


def test_single_short_file_trains_padded_without_validation(tmp_path):
    folder = tmp_path / "one"
    write_audio(folder / "hit.wav", np.full(SR // 10, 0.5, np.float32), SR)
    module = _module(folder, tmp_path, augment=False)
    report = module.scan()
    assert len(report.usable) == 1 and report.usable[0].flags[0].startswith("short")
    batch = next(iter(module.train_dataloader()))
    assert batch.shape == (4, SEGMENT)
    assert ((batch == 0.5).sum(dim=1) == SR // 10).all()  # the whole hit, padded with silence
    assert module.val_dataloader() == [] and not module.has_validation
    assert module.example_segments().shape == (0, SEGMENT)


def test_scan_before_setup_and_errors(tmp_path, ramp_folder):
    module = _module(ramp_folder, tmp_path)
    report = module.scan()
    assert module.report is report and len(report.usable) == 4
    assert report.num_frames() > 0 and module.train_set is None
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="No audio files"):
        _module(empty, tmp_path).scan()


def test_default_workers_are_sensible():
    assert default_num_workers(5.0) == 0  # tiny sets never pay for worker start-up
    assert default_num_workers(10**6) in (0, 2)


def test_lightning_fits_with_and_without_validation(ramp_folder, tmp_path):
    import lightning as L

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.gain = torch.nn.Parameter(torch.ones(()))
            self.validated = 0

        def training_step(self, batch, _):
            return ((batch * self.gain) ** 2).mean()

        def validation_step(self, batch, _):
            self.validated += 1

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    for folder, expects_validation in ((ramp_folder, True), (tmp_path / "one", False)):
        if not expects_validation:
            write_audio(folder / "hit.wav", np.full(SR // 10, 0.5, np.float32), SR)
        model = Tiny()
        trainer = L.Trainer(
            max_steps=3,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            default_root_dir=tmp_path,
        )
        trainer.fit(model, datamodule=_module(folder, tmp_path, steps_per_epoch=3))
        assert trainer.global_step == 3
        assert (model.validated > 0) == expects_validation


def test_training_audio_is_memory_mapped_and_pickles_as_a_path(ramp_folder, tmp_path):
    import pickle

    module = _module(ramp_folder, tmp_path)
    module.setup("fit")
    assert all(isinstance(audio, MappedAudio) for audio in module.audio)
    sent = pickle.dumps(module.train_set)  # what a spawned DataLoader worker receives
    assert len(sent) < 10_000  # paths, not the recordings (5.7 s of float32 is ~1 MB)
    again = pickle.loads(sent)
    assert torch.equal(again[7], module.train_set[7])


def test_a_file_removed_after_the_scan_is_left_out_and_training_goes_on(ramp_folder, tmp_path):
    module = _module(ramp_folder, tmp_path, augment=False)
    module.scan()
    (ramp_folder / "1.wav").unlink()
    (ramp_folder / "3.wav").write_bytes(b"overwritten with junk")
    module.setup("fit")
    assert len(module.audio) == 2 and [e.path.name for e in module.lost] == ["1.wav", "3.wav"]
    assert all(entry.reason for entry in module.lost)
    assert next(iter(module.train_dataloader())).shape == (4, SEGMENT)


def test_file_balance_keeps_a_long_track_from_drowning_short_sounds(tmp_path):
    """One 8 s track beside four 0.2 s one-shots, 0.25 s crops: by duration the track takes
    ~90 % of the crops; balanced it counts as 10 crops long (2.5 s) against one crop each."""
    folder = tmp_path / "mixed"
    lengths = [8 * SR] + [SR // 5] * 4
    offset, starts = 0, []
    for index, length in enumerate(lengths):
        _ramp_file(folder / f"{index}.wav", length, offset)
        starts.append(offset)
        offset += length

    def share_of_track(balance: float) -> float:
        module = _module(folder, tmp_path, augment=False, val_fraction=0.0, file_balance=balance)
        module.setup("fit")
        crops = [module.train_set[seed] for seed in range(400)]
        # a crop's largest value names its file: ramps count up across the files
        first = np.array([float(crop.max()) / 2.0**-22 - 1 for crop in crops])
        return float(np.mean(first < starts[1]))

    assert share_of_track(0.0) > 0.85
    assert 0.6 < share_of_track(1.0) < 0.8  # 10 / 14


def test_crop_weights_leave_short_files_by_duration_and_split_a_files_share_by_length():
    regions = [Region(0, 0, 600), Region(0, 800, 1000), Region(1, 0, 100), Region(2, 0, 5)]
    by_length = np.array([600, 200, 100, 10]) / 910
    assert crop_weights(regions, 10, 0.0) == pytest.approx(by_length)
    nothing_long = crop_weights(regions, 100, 0.0)  # no file over 10 crops: balance changes nothing
    assert crop_weights(regions, 100, 1.0) == pytest.approx(nothing_long)
    balanced = crop_weights(regions, 10, 1.0)  # file 0 (800) counts as 100, as long as file 1
    assert balanced[0] + balanced[1] == pytest.approx(balanced[2])
    assert balanced[0] == pytest.approx(3 * balanced[1]) and balanced[2] == pytest.approx(
        10 * balanced[3]
    )
    with pytest.raises(ValueError, match="file_balance"):
        crop_weights(regions, 100, 1.5)
