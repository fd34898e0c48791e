"""TensorBoard monitoring of codec training: codebook health and fixed held-out examples.

Losses are logged by the module itself; this callback adds, per quantizer level, perplexity,
% of codes used and dead-code resets (every `stats_every_n_steps`), and every
`examples_every_n_steps` the same held-out clips as audio (original once, reconstruction, and
reconstructions from the first k levels) with their mel spectrograms as images.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor

from sda.audio.dsp import mel_spectrogram

log = logging.getLogger(__name__)


def spectrogram_image(audio: Tensor, sample_rate: int) -> np.ndarray:
    """(samples,) -> (mels, frames) float image in 0..1, low frequencies at the bottom."""
    mel = mel_spectrogram(audio.float().cpu(), sample_rate, n_fft=2048, hop_length=256, n_mels=128)
    db = 20 * torch.log10(mel.clamp(min=1e-5))
    image = ((db - (db.max() - 80.0)) / 80.0).clamp(0, 1)  # an 80 dB window below the peak
    return image.flip(0).numpy()


class CodecMonitor(L.Callback):
    def __init__(
        self,
        *,
        stats_every_n_steps: int = 50,
        examples_every_n_steps: int = 500,
        num_examples: int = 3,
        example_levels: Sequence[int] = (1, 2, 4),
    ) -> None:
        super().__init__()
        self.stats_every_n_steps = stats_every_n_steps
        self.examples_every_n_steps = examples_every_n_steps
        self.num_examples = num_examples
        self.example_levels = tuple(example_levels)
        self._examples: Tensor | None = None  # (examples, samples), held-out audio
        self._originals_logged = False
        self._last_examples_step = -1

    @staticmethod
    def _tensorboards(trainer: L.Trainer) -> list[TensorBoardLogger]:
        return [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if self.num_examples <= 0 or not hasattr(datamodule, "example_segments"):
            return
        examples = datamodule.example_segments(self.num_examples)
        if examples.dim() == 3:  # a stereo run: listen to the mid, what its mono decode plays
            examples = examples.mean(dim=1)
        self._examples = examples if examples.numel() else None
        if self._examples is None:
            log.info("no held-out audio to listen to: TensorBoard examples are skipped")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.stats_every_n_steps and step % self.stats_every_n_steps == 0:
            self.log_codebook_stats(trainer, pl_module)
        if self.examples_every_n_steps and step % self.examples_every_n_steps == 0:
            self.log_examples(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.log_examples(trainer, pl_module)

    def log_codebook_stats(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        stats = pl_module.codec.quantizer.pop_stats()
        if stats.vectors == 0:
            return
        metrics = {}
        for level, (perplexity, used, resets) in enumerate(
            zip(stats.perplexity, stats.used_fraction, stats.dead_code_resets, strict=True)
        ):
            metrics[f"codebook/perplexity_level{level}"] = perplexity
            metrics[f"codebook/used_percent_level{level}"] = 100.0 * used
            metrics[f"codebook/dead_code_resets_level{level}"] = float(resets)
        metrics["codebook/used_percent_min"] = 100.0 * min(stats.used_fraction)
        # written straight to the loggers: self.log would drop values off the log interval
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    @torch.no_grad()
    def log_examples(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = trainer.global_step
        writers = [tb.experiment for tb in self._tensorboards(trainer)]
        if self._examples is None or not writers or step == self._last_examples_step:
            return
        self._last_examples_step = step
        codec = pl_module.codec
        rate = codec.config.sample_rate
        was_training = codec.training
        codec.eval()
        try:
            audio = self._examples.to(pl_module.device)
            codes = codec.encode(audio)
            length = audio.shape[-1]
            versions = {"reconstruction": codec.decode(codes)[:, :length]}
            for k in self.example_levels:
                if k < codec.config.num_levels:
                    versions[f"levels_{k}"] = codec.decode(codes, levels=k)[:, :length]
        finally:
            codec.train(was_training)
        for writer in writers:
            for index in range(audio.shape[0]):
                tag = f"example{index}"
                if not self._originals_logged:
                    self._add(writer, f"{tag}/original", audio[index], step, rate)
                for name, clips in versions.items():
                    self._add(writer, f"{tag}/{name}", clips[index], step, rate)
            writer.flush()
        self._originals_logged = True

    @staticmethod
    def _add(writer, tag: str, clip: Tensor, step: int, rate: int) -> None:
        clip = clip.float().cpu().clamp(-1.0, 1.0)
        writer.add_audio(tag, clip.unsqueeze(0), step, sample_rate=rate)
        writer.add_image(
            f"{tag}_spectrogram", spectrogram_image(clip, rate), step, dataformats="HW"
        )
