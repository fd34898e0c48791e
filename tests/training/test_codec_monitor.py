"""CodecMonitor on a tiny real Lightning Trainer: codebook health and held-out examples in TensorBoard."""

from __future__ import annotations

import math
from pathlib import Path

import factories
import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.data import DataLoader, TensorDataset

from sda.models.codec import Codec, CodecConfig
from sda.training.callbacks import CodecMonitor, spectrogram_image

RATE = factories.SAMPLE_RATE
SEGMENT = 2_048


def clips(count: int, seed: int) -> torch.Tensor:
    """(count, SEGMENT) synthesized plucks, drones and noise."""
    kinds = ("pluck", "drone", "noise")
    sounds = [factories.synth_sound(kinds[i % 3], seed=seed + i)[:SEGMENT] for i in range(count)]
    return torch.from_numpy(np.stack(sounds))


class TinyCodecModule(L.LightningModule):
    """The least a LightningModule needs for CodecMonitor: a `.codec` trained by its forward."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.codec = Codec(CodecConfig(**factories.TINY_CODEC))
        with torch.no_grad():
            self.codec.quantizer.warm_up(self.codec.encode_latents(clips(8, seed=100)))

    def training_step(self, batch, batch_idx):
        (audio,) = batch
        out = self.codec(audio)
        return (out.audio[:, : audio.shape[-1]] - audio).abs().mean() + out.commit_loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class TinyData(L.LightningDataModule):
    def __init__(self, examples: int = 4) -> None:
        super().__init__()
        self.examples = examples

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(clips(8, seed=0)), batch_size=2)

    def example_segments(self, count: int) -> torch.Tensor:
        if not self.examples:
            return torch.zeros(0, SEGMENT)  # a dataset too small to hold clips out
        return clips(min(count, self.examples), seed=50)  # held-out clips, (examples, samples)


def fit(tmp_path: Path, monitor: CodecMonitor, data: L.LightningDataModule, steps: int = 4):
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=TensorBoardLogger(tmp_path, name="tb", version=0),
        callbacks=[monitor],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    module = TinyCodecModule()
    trainer.fit(module, datamodule=data)
    events = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"audio": 0, "images": 0, "scalars": 0})  # fmt: skip
    events.Reload()
    return module, events


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> tuple[TinyCodecModule, EventAccumulator]:
    monitor = CodecMonitor(
        stats_every_n_steps=2, examples_every_n_steps=2, num_examples=2, example_levels=(1, 2, 4)
    )
    return fit(tmp_path_factory.mktemp("monitor"), monitor, TinyData())


def test_codebook_health_is_logged_per_level(monitored) -> None:
    module, events = monitored
    tags = events.Tags()["scalars"]
    levels = module.codec.config.num_levels
    for level in range(levels):
        for name in ("perplexity", "used_percent", "dead_code_resets"):
            assert f"codebook/{name}_level{level}" in tags
    perplexity = events.Scalars("codebook/perplexity_level0")
    assert [e.step for e in perplexity] == [2, 4]  # every `stats_every_n_steps`
    size = module.codec.config.codebook_size
    assert all(1.0 <= e.value <= size for e in perplexity)
    used = [e.value for e in events.Scalars("codebook/used_percent_level0")]
    assert all(0 < value <= 100 for value in used)
    lowest = events.Scalars("codebook/used_percent_min")
    for index, event in enumerate(lowest):
        per_level = [events.Scalars(f"codebook/used_percent_level{k}")[index].value for k in range(levels)]  # fmt: skip
        assert event.value == pytest.approx(min(per_level))


def test_examples_are_logged_with_level_prefixes_and_the_original_once(monitored) -> None:
    module, events = monitored
    audio_tags = set(events.Tags()["audio"])
    levels = module.codec.config.num_levels  # 4: "levels_4" would be the full reconstruction
    expected = {f"example{i}/{name}" for i in range(2) for name in ("original", "reconstruction", "levels_1", "levels_2")}  # fmt: skip
    assert audio_tags == expected and levels == 4
    assert [e.step for e in events.Audio("example0/original")] == [2]  # once
    # every 2 steps; the end of training (step 4) is not written twice
    assert [e.step for e in events.Audio("example1/reconstruction")] == [2, 4]
    assert all(e.sample_rate == RATE for e in events.Audio("example0/levels_1"))
    image_tags = set(events.Tags()["images"])
    assert {f"{tag}_spectrogram" for tag in expected} == image_tags


def test_examples_leave_the_codec_training(monitored) -> None:
    module, _ = monitored
    assert module.codec.training  # log_examples decodes in eval mode, then puts it back


def test_nothing_to_listen_to_skips_the_examples(tmp_path: Path) -> None:
    monitor = CodecMonitor(stats_every_n_steps=1, examples_every_n_steps=1, num_examples=2)
    _, events = fit(tmp_path, monitor, TinyData(examples=0), steps=2)
    assert events.Tags()["audio"] == []
    assert [e.step for e in events.Scalars("codebook/perplexity_level0")] == [1, 2]


def test_spectrogram_image_puts_low_notes_at_the_bottom() -> None:
    t = torch.arange(RATE // 4) / RATE
    low = spectrogram_image(torch.sin(2 * math.pi * 100.0 * t), RATE)
    high = spectrogram_image(torch.sin(2 * math.pi * 12_000.0 * t), RATE)
    assert low.shape == (128, RATE // 4 // 256 + 1) and low.dtype == np.float32
    assert low.min() >= 0.0 and low.max() == pytest.approx(1.0)
    rows = lambda image: image[:, 5:-5].mean(axis=1).argmax()  # noqa: E731
    assert rows(low) > 100 > 30 > rows(high)  # row 0 is the top of the picture
