"""LightningModule that trains the prior on a codec's codes, conditioned on measured descriptors.

Checkpoint hyper-parameters are primitives only (the contract the bundle exporter relies on):
{"prior": asdict(PriorConfig), "codec_source", "codec_fingerprint", "descriptor_stats"}; the state
dict holds `prior.*` only. The codec used for listening examples is kept off the module's children so
its weights never enter the checkpoint.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger

from sda.audio.descriptors import CONTROL_NAMES
from sda.models.prior import Prior, PriorConfig
from sda.models.stereo_grid import split_grid
from sda.training.adamw import adamw

log = logging.getLogger(__name__)

OVERFIT_MARGIN = 0.1  # nats of validation cross-entropy above the best that count as memorising


def overfitting_note(
    history: list[tuple[int, float]], margin: float = OVERFIT_MARGIN
) -> str | None:
    """A warning when the newest validation cross-entropy lies `margin` above the best so far.

    On a small set a prior can learn its few minutes of codes by heart: the training loss keeps
    falling while held-out cross-entropy climbs, and samples turn into collages of the training
    set. The weights with the lowest validation loss are kept in checkpoints/best.ckpt.
    """
    if len(history) < 2:
        return None
    best_step, best = min(history, key=lambda entry: entry[1])
    step, value = history[-1]
    if value <= best + margin:
        return None
    return (
        f"validation cross-entropy rose from {best:.3f} (step {best_step}) to {value:.3f} "
        f"(step {step}): the prior is memorising this set. The weights with the lowest validation "
        "loss are in checkpoints/best.ckpt (to compare, add them with `sda library add CODEC "
        "--prior RUN/checkpoints/best.ckpt`); more or more varied audio helps most"
    )


@dataclass
class PriorTrainingConfig:
    """Optimisation settings (from conf/train_prior.yaml `training:`)."""

    learning_rate: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.05
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1
    label_smoothing: float = 0.1
    example_seconds: float = 4.0  # generated audio logged at each validation (0: none)
    example_controls: tuple[float, ...] = (0.2, 0.8)  # brightness settings for the examples


class PriorModule(L.LightningModule):
    def __init__(
        self,
        prior: dict[str, Any],
        codec_source: str,
        codec_fingerprint: str,
        descriptor_stats: dict[str, list[float]],
        *,
        training: PriorTrainingConfig | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters("prior", "codec_source", "codec_fingerprint", "descriptor_stats")
        self.prior = Prior(PriorConfig.from_dict(dict(prior)))
        self.training_config = training or PriorTrainingConfig()
        self._listening_codec: list[Any] = []  # a list, so nn.Module does not register it
        self._validation_history: list[tuple[int, float]] = []  # (step, cross-entropy)
        self._warned_overfitting = False

    def set_codec(self, codec) -> None:
        """The codec that decodes listening examples (not saved with the prior)."""
        self._listening_codec = [codec.eval()]

    # --- optimisation ----------------------------------------------------------------------------
    def configure_optimizers(self):
        config = self.training_config
        decay = [p for p in self.prior.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.prior.parameters() if p.dim() < 2]
        optimizer = adamw(
            [
                {"params": decay, "weight_decay": config.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=config.learning_rate,
            betas=tuple(config.betas),
        )
        total = self.trainer.max_steps if self.trainer and self.trainer.max_steps > 0 else None

        def factor(step: int) -> float:
            if step < config.warmup_steps:
                return (step + 1) / config.warmup_steps
            if total is None or total <= config.warmup_steps:
                return 1.0
            progress = min(1.0, (step - config.warmup_steps) / (total - config.warmup_steps))
            cosine = 0.5 * (1 + math.cos(math.pi * progress))
            return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    # --- steps -----------------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, _ = self.prior.loss(
            batch["codes"],
            batch["controls"],
            label_smoothing=self.training_config.label_smoothing,
            keep_logits=False,
        )
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["codes"].shape[0])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        codes = batch["codes"]  # (batch, levels, frames)
        loss, logits = self.prior.loss(codes, batch["controls"])
        size = codes.shape[0]
        # sync_dist: under DDP every rank sees the mean over all ranks' windows, so best.ckpt and
        # the memorising warning decide on the same number everywhere
        self.log("val/cross_entropy", loss, prog_bar=True, batch_size=size, sync_dist=True)
        real = codes != self.prior.config.pad_token
        correct = (logits.argmax(dim=-1) == codes) & real
        for level in range(codes.shape[1]):
            accuracy = correct[:, level].sum() / real[:, level].sum().clamp(min=1)
            self.log(f"val/accuracy_level{level}", accuracy, batch_size=size, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self._watch_overfitting()
        if not self._listening_codec or not self.trainer.is_global_zero:
            return  # only rank 0 writes TensorBoard: other ranks would generate for nothing
        writers = [lg.experiment for lg in self.loggers if isinstance(lg, TensorBoardLogger)]
        seconds = self.training_config.example_seconds
        if not writers or seconds <= 0:
            return
        for tag, audio, rate in self.listening_examples(seconds):
            for writer in writers:
                writer.add_audio(tag, audio[None], self.global_step, sample_rate=rate)

    def _watch_overfitting(self) -> None:
        value = self.trainer.callback_metrics.get("val/cross_entropy")
        if value is None or self._warned_overfitting:
            return
        self._validation_history.append((int(self.global_step), float(value)))
        note = overfitting_note(self._validation_history)
        if note:
            log.warning(note)
            self._warned_overfitting = True

    @torch.no_grad()
    def listening_examples(self, seconds: float) -> list[tuple[str, torch.Tensor, int]]:
        """Generated clips (free, then low/high brightness) decoded by the codec: (tag, audio, rate);
        a stereo prior's clips are their mid."""
        from sda.generate.engine import continue_codes
        from sda.generate.sampling import SamplingSettings

        codec = self._listening_codec[0]
        frames = max(1, math.ceil(seconds * codec.config.frame_rate))
        settings = [("generated/free", None, 1.0)] + [
            (f"generated/brightness_{v:.1f}", v, 3.0) for v in self.training_config.example_controls
        ]
        clips = []
        for tag, brightness, guidance in settings:
            controls = mask = None
            if brightness is not None:
                controls = torch.zeros(1, len(CONTROL_NAMES), device=self.device)
                mask = torch.zeros_like(controls, dtype=torch.bool)
                controls[0, 0], mask[0, 0] = brightness, True
            codes = continue_codes(
                self.prior,
                None,
                frames,
                settings=SamplingSettings(temperature=1.0, top_k=None, guidance=guidance),
                generator=torch.Generator(device=self.device).manual_seed(0),
                controls=controls,
                control_mask=mask,
            )
            codec.to(self.device)
            if codes.shape[1] != codec.config.num_levels:  # a stereo prior's stacked grid
                # TensorBoard plays mono only: the examples are the mid (the downmix)
                codes = split_grid(codes, codec.config.num_levels)[0]
            audio = codec.decode(codes)[0].float().clamp(-1, 1).cpu()
            clips.append((tag, audio, int(codec.config.sample_rate)))
        return clips
