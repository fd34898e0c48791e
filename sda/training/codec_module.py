"""LightningModule that trains the codec: reconstruction losses, EMA codebooks, optional GAN phase.

Manual optimization: one generator step per batch (the only step Lightning counts in
`global_step`), plus a discriminator step in the adversarial phase that runs on the raw optimizer
so the step count keeps meaning "codec updates". In that phase the encoder and quantizer are
frozen (no gradients, no EMA, no dead-code resets) so the codes keep their meaning while the
decoder learns to sound better.

A stereo codec (`channels=2`) trains the same mono network on mid/side: each (batch, 2, samples)
crop becomes two batch items, M and side_gain * S (`sda.models.stereo_codec.mid_side_batch`). Its
loss is the mono loss on those items plus the stereo image of the rebuilt left and right
(`StereoImageLoss`: L/R correlation and side/mid ratio per band), so the decoder learns to keep
the relation of M and S that places a source in the image. A per-channel mel/STFT loss on the
rebuilt L and R (`stereo_weight`) is off by default: it cost 40 % of a stereo step and, on
held-out music, measured no better than the mono loss on M and S (experiments/RESULTS.md,
"## Stereo", 2026-12-05). With `side_share` below 1 a training step codes every crop's mid but
only the first crops' sides (the image loss on those crops): a cheaper step, more steps for the
mid in a time budget (the laptop recipe's 0.5; RESULTS.md, "## Codec", 2026-12-05 late).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import lightning as L
import torch
from torch import Tensor

from sda.models.codec import Codec, CodecConfig
from sda.models.stereo_codec import (
    decoded_left_right,
    direction_row,
    mid_side_batch,
    to_mid_side,
)
from sda.models.stereo_direction import from_codes, has_direction
from sda.training.adamw import adamw
from sda.training.budget_schedule import budget_lr_lambda
from sda.training.discriminators import (
    Discriminators,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)
from sda.training.losses import EnvelopeLoss, HeadMagnitudeLoss, SpectralLoss, StereoImageLoss
from sda.training.weight_average import WeightAverage

log = logging.getLogger(__name__)


@dataclass
class CodecTrainingConfig:
    """Optimisation settings (not saved in checkpoints' hyper_parameters: they live in the run's
    .hydra/config.yaml)."""

    learning_rate: float = 1e-3
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    warmup_steps: int = 100  # linear learning-rate warm-up
    # "half_life": after warm-up, halve every `lr_half_life_steps` (None: a constant rate);
    # "budget": a cosine to `min_lr_ratio` at the end of the run's time or step budget
    # (`sda.training.budget_schedule`)
    lr_schedule: str = "half_life"
    lr_half_life_steps: int | None = None
    min_lr_ratio: float = 0.1
    grad_clip: float = 10.0
    mel_weight: float = 15.0
    stft_weight: float = 2.0
    envelope_weight: float = 0.0  # peak-envelope loss: keeps attacks' level and tails' decay
    # a head whose phases come from its magnitudes (model.head_phase=vocoder) only: its
    # magnitudes against the original's STFT on its frames (losses.HeadMagnitudeLoss)
    head_magnitude_weight: float = 1.0
    # the spectral loss reads every n-th of its frames per step, from a random first one: an
    # unbiased estimate of the full loss at 1/n of its cost (validation reads them all)
    spectral_frame_stride: int = 1
    commitment_weight: float = 0.25
    # stereo models only: the spectral loss on the rebuilt L and R (times mel/stft weights; off:
    # M and S have their own) and the image loss (L/R correlation + side/mid ratio / 10 dB by band)
    stereo_weight: float = 0.0
    image_weight: float = 10.0
    # stereo models only: the share of a training batch's crops whose side is coded too (their
    # mids always are). Below 1 a step costs less, so the mid gets more steps in a budget
    side_share: float = 1.0
    quantizer_dropout: float = 0.5  # share of steps that stop at a random level
    dead_code_fraction: float = 0.1  # of the average hits per code per batch; 0 disables resets
    warmup_vectors_per_code: int = 20  # k-means warm-up batch size, in vectors per code
    max_warmup_batches: int = 256
    # k-means once more at this step, on the encoder's latents by then: the first init sees a
    # random encoder, whose latents drift fast early on and leave many codes stale
    codebook_refresh_step: int | None = 100
    # train the decoder alone; the encoder stays as it started and the codebooks as the k-means
    # warm-up left them (each step costs ~20 % less). None (the yaml's default too): decided by
    # the set's size when starting from the base codec (sda.training.train_codec resolves it);
    # unresolved, the module trains both, as with False
    freeze_encoder: bool | None = None
    adversarial_start_step: int | None = None  # None: no adversarial phase
    discriminator_lr: float = 2e-4
    adversarial_weight: float = 1.0
    feature_matching_weight: float = 2.0
    discriminator_channels: int = 32
    # validate, keep and export a running average of the weights (sda.training.weight_average)
    # with this decay per step; 0: the live weights, as trained
    weight_average_decay: float = 0.0
    seed: int = 0


class CodecModule(L.LightningModule):
    """Trains `Codec`; checkpoints hold hyper_parameters {"codec", "dataset"[, "init_from"]}
    (primitives only) and state_dict keys `codec.*` (plus `discriminators.*` when adversarial)."""

    def __init__(
        self,
        codec_config: CodecConfig,
        *,
        training: CodecTrainingConfig | None = None,
        dataset_summary: dict[str, Any] | None = None,
        init_from: dict[str, Any] | None = None,
        sync_codebook: bool = False,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        hparams: dict[str, Any] = {"codec": asdict(codec_config), "dataset": dataset_summary or {}}
        if init_from:
            hparams["init_from"] = init_from
        self.save_hyperparameters(hparams)
        self.settings = training or CodecTrainingConfig()
        self.codec = Codec(codec_config, sync_codebook=sync_codebook)
        self.spectral_loss = SpectralLoss(
            sample_rate=codec_config.sample_rate,
            frame_stride=self.settings.spectral_frame_stride,
        )
        self.envelope_loss = EnvelopeLoss()
        head = self.codec.decoder.head
        self.head_loss = None
        if head.phase == "vocoder" and self.settings.head_magnitude_weight:
            self.head_loss = HeadMagnitudeLoss(n_fft=head.n_fft, hop_length=head.hop_length)
        self.stereo = codec_config.channels == 2
        # stereo models only (a mono run builds nothing more than it did)
        self.image_loss = (
            StereoImageLoss(sample_rate=codec_config.sample_rate) if self.stereo else None
        )
        self.discriminators = (
            Discriminators(channels=self.settings.discriminator_channels)
            if self.settings.adversarial_start_step is not None
            else None
        )
        self._dead_codes_ready = False
        self._sync_codebook = sync_codebook
        decay = self.settings.weight_average_decay
        self.weight_average = WeightAverage(self.codec, decay, "codec.") if decay else None

    # --- optimisers ----------------------------------------------------------------------------
    def configure_optimizers(self):
        s = self.settings
        generator = adamw(
            self.codec.parameters(),
            lr=s.learning_rate,
            betas=tuple(s.betas),
            weight_decay=s.weight_decay,
        )

        def half_life(step: int) -> float:
            warm = min(1.0, (step + 1) / max(s.warmup_steps, 1))
            if not s.lr_half_life_steps:
                return warm
            decay = 0.5 ** (max(0, step - s.warmup_steps) / s.lr_half_life_steps)
            return warm * max(s.min_lr_ratio, decay)

        schedule = (
            budget_lr_lambda(
                lambda: self.trainer, warmup_steps=s.warmup_steps, min_ratio=s.min_lr_ratio
            )
            if s.lr_schedule == "budget"
            else half_life
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(generator, schedule)
        optimizers = [generator]
        if self.discriminators is not None:
            optimizers.append(
                adamw(self.discriminators.parameters(), lr=s.discriminator_lr, betas=tuple(s.betas))
            )
        return optimizers, [{"scheduler": scheduler, "interval": "step"}]

    # --- k-means warm-up -----------------------------------------------------------------------
    def on_fit_start(self) -> None:
        # Runs after a resumed checkpoint's weights are loaded and before the sanity validation:
        # codebooks are seeded from training crops here, never from validation audio.
        if not self.codec.quantizer.initialized:
            datamodule = getattr(self.trainer, "datamodule", None)
            if datamodule is None:
                raise RuntimeError(
                    "CodecModule.fit needs a datamodule (its training batches seed the codebooks); "
                    "pass one to trainer.fit or call module.warm_up(batches) first"
                )
            self.warm_up(datamodule.train_dataloader())

    @torch.no_grad()
    def warm_up(self, batches: Iterable[Any]) -> int:
        """k-means-initialise the codebooks from training batches; returns vectors used."""
        quantizer = self.codec.quantizer
        needed = self.settings.warmup_vectors_per_code * quantizer.codebook_size
        started = time.perf_counter()
        vectors, count, per_batch = [], 0, 0
        for index, batch in enumerate(batches):
            audio, _ = self._codec_batch(batch, self.settings.side_share)  # as training steps see
            latents = self.codec.encode_latents(audio.to(self.device))
            per_batch = per_batch or latents.shape[0] * latents.shape[2]
            vectors.append(latents.transpose(1, 2).reshape(-1, latents.shape[1]))
            count += vectors[-1].shape[0]
            if count >= needed or index + 1 >= self.settings.max_warmup_batches:
                break
        if not vectors:
            raise RuntimeError("k-means warm-up received no training batches")
        if count < needed:
            log.warning(
                "k-means warm-up found %d latent vectors for %d codes (wanted %d)",
                count, quantizer.codebook_size, needed,
            )  # fmt: skip
        self._configure_dead_codes(per_batch)
        quantizer.warm_up(torch.cat(vectors).T.unsqueeze(0), vectors_per_batch=per_batch)
        log.info(
            "k-means warm-up: %d vectors, %d levels x %d codes, %.1f s",
            count, quantizer.num_levels, quantizer.codebook_size, time.perf_counter() - started,
        )  # fmt: skip
        return count

    def refresh_codebooks(self) -> None:
        """Re-run the k-means warm-up on current latents (same vectors-per-code budget)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None:
            return
        self.codec.quantizer.reinitialize()
        self.warm_up(datamodule.train_dataloader())

    def _configure_dead_codes(self, vectors_per_batch: int) -> None:
        if self._sync_codebook and self.trainer.world_size > 1:
            vectors_per_batch *= self.trainer.world_size  # synced EMA counts sum over ranks
        threshold = self.codec.quantizer.configure_dead_codes(
            vectors_per_batch=vectors_per_batch, fraction=self.settings.dead_code_fraction
        )
        self._dead_codes_ready = True
        log.info(
            "dead-code threshold: %.3f hits per batch of %d vectors", threshold, vectors_per_batch
        )

    # --- steps ---------------------------------------------------------------------------------
    def _audio(self, batch: Any) -> Tensor:
        """(batch, samples), or (batch, 2, samples) for a stereo codec."""
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if isinstance(batch, dict):
            batch = batch["audio"]
        if batch.dim() == 3 and not (self.stereo and batch.shape[1] == 2):
            batch = batch[:, 0]
        # a stray NaN/inf sample must not poison the weights and codebooks
        return torch.nan_to_num(batch.float(), nan=0.0, posinf=0.0, neginf=0.0)

    def _codec_batch(self, batch: Any, side_share: float = 1.0) -> tuple[Tensor, Tensor | None]:
        """What the codec runs on, (items, samples), and the stereo crops (crops, 2, samples)
        whose sides are in it (None for mono): a stereo batch is all its mids, then the lifted
        sides of its first `side_share` of crops (at least one)."""
        audio = self._audio(batch)
        if audio.dim() == 2:
            return audio, None
        crops = audio.shape[0]
        sided = min(crops, max(1, math.ceil(side_share * crops)))
        items = mid_side_batch(audio, self.codec.config.side_gain)  # all mids, then all sides
        return items[: crops + sided], audio[:sided]

    def adversarial_active(self) -> bool:
        start = self.settings.adversarial_start_step
        return self.discriminators is not None and start is not None and self.global_step >= start

    def _step_random(self) -> random.Random:
        # the same decision on every DDP rank: derived from the step, not from a local RNG
        return random.Random(self.settings.seed * 1_000_003 + self.global_step)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        s = self.settings
        audio, stereo = self._codec_batch(batch, s.side_share)
        if not self._dead_codes_ready:
            frames = self.codec.num_frames(audio.shape[-1])
            self._configure_dead_codes(audio.shape[0] * frames)
        adversarial = self.adversarial_active()
        if self.global_step == s.codebook_refresh_step and not adversarial and not s.freeze_encoder:
            self.refresh_codebooks()
            if self.weight_average is not None:  # the codes mean something new from here
                self.weight_average.reset()
        rng = self._step_random()
        dropout = rng.random() < s.quantizer_dropout
        optimizers = self.optimizers()
        generator_opt = optimizers[0] if isinstance(optimizers, list) else optimizers

        frozen = adversarial or s.freeze_encoder
        if adversarial and self.weight_average is not None:  # the encoder freezes as averaged
            self.weight_average.hold(self.codec.encoder)
        recon, commit, levels_used, head = self._reconstruct(audio, frozen, dropout, rng)
        loss, logs = self._reconstruction_loss(recon, audio, commit, head)
        if stereo is not None:
            image_loss, image_logs = self._stereo_loss(recon, stereo)
            loss = loss + image_loss
            logs.update(image_logs)
        if adversarial:
            loss, adversarial_logs = self._add_adversarial_loss(
                loss, audio, recon, optimizers[1], generator_opt
            )
            logs.update(adversarial_logs)

        generator_opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.codec.parameters(), s.grad_clip)
        generator_opt.step()
        self.lr_schedulers().step()
        if adversarial:
            self.untoggle_optimizer(generator_opt)
        if frozen:
            self.codec.encoder.requires_grad_(not s.freeze_encoder)

        logs.update(
            {
                "train/loss": loss.detach(),
                "train/grad_norm": grad_norm,
                "train/levels": float(levels_used),
                "train/quantizer_dropout": float(dropout),
            }
        )
        self.log_dict(logs, on_step=True, on_epoch=False, batch_size=audio.shape[0])
        self.log("loss", loss.detach(), prog_bar=True, on_step=True, logger=False)
        return loss.detach()

    def _reconstruct(
        self, audio: Tensor, adversarial: bool, dropout: bool, rng: random.Random
    ) -> tuple[Tensor, Tensor, int, Tensor | None]:
        """(reconstruction (batch, samples), commitment loss, levels used, the head's
        log-magnitudes when a loss reads them). In the adversarial phase the encoder and
        quantizer are frozen, so the codes keep their meaning."""
        length = audio.shape[-1]
        if not adversarial:
            wanted = self.head_loss is not None
            out = self.codec(audio, quantizer_dropout=dropout, head_frames=wanted)
            return out.audio[:, :length], out.commit_loss, out.levels, out.head_log_magnitude
        self.codec.encoder.requires_grad_(False)
        self.codec.quantizer.eval()
        levels = rng.randint(1, self.codec.config.num_levels) if dropout else None
        with torch.no_grad():
            codes = self.codec.encode(audio)
        levels = levels or self.codec.config.num_levels
        latents = self.codec.codes_to_latents(codes, levels)
        if self.head_loss is None:
            return self.codec.decode_latents(latents)[:, :length], audio.new_zeros(()), levels, None
        recon, head = self.codec.decoder(latents, with_frames=True)
        return recon[:, :length], audio.new_zeros(()), levels, head

    def _reconstruction_loss(
        self, recon: Tensor, audio: Tensor, commit: Tensor, head: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted spectral (+ envelope, + head magnitude) and commitment losses, and what to
        log of them."""
        s = self.settings
        spectral = self.spectral_loss(recon, audio)
        mel, stft = spectral.mel, spectral.stft
        loss = s.mel_weight * mel + s.stft_weight * stft + s.commitment_weight * commit
        logs = {"train/mel": mel, "train/stft": stft, "train/commit": commit}
        if s.envelope_weight:  # a training-step cost: only when it counts (validation logs it)
            envelope = self.envelope_loss(recon, audio)
            loss = loss + s.envelope_weight * envelope
            logs["train/envelope"] = envelope
        if head is not None:  # only asked for when a head loss reads it
            head_error = self.head_loss(head, audio)
            loss = loss + s.head_magnitude_weight * head_error
            logs["train/head_magnitude"] = head_error
        return loss, logs

    def _rebuilt(self, recon: Tensor, stereo: Tensor) -> Tensor:
        """The codec's items (mids first, the sides of `stereo`'s crops last) -> (crops, 2,
        samples) left/right, the side set where the crops' own direction rows say (as a decode of
        their codes would)."""
        config, batch = self.codec.config, stereo.shape[0]
        rho = None
        if has_direction(config):
            rho = from_codes(direction_row(stereo, config), config.codebook_size)
        mid, side = recon[:batch], recon[-batch:]
        return decoded_left_right(mid, side, config.side_gain, rho, config)[..., : stereo.shape[-1]]

    def _stereo_loss(self, recon: Tensor, stereo: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss on the rebuilt L and R: the stereo image (and per-channel mel/STFT when
        `stereo_weight` asks for it)."""
        s = self.settings
        batch, _, length = stereo.shape
        rebuilt = self._rebuilt(recon, stereo)
        image = self.image_loss(rebuilt, stereo)
        loss = s.image_weight * (image.correlation + image.side_mid_db / 10)
        logs = {
            "train/correlation_error": image.correlation,
            "train/side_mid_db_error": image.side_mid_db,
        }
        if s.stereo_weight:  # about 40 % of a stereo step: computed only when asked for
            channel = self.spectral_loss(
                rebuilt.reshape(2 * batch, length), stereo.reshape(2 * batch, length)
            )
            loss = loss + s.stereo_weight * (
                s.mel_weight * channel.mel + s.stft_weight * channel.stft
            )
            logs["train/mel_channels"] = channel.mel
        return loss, logs

    def _add_adversarial_loss(
        self, loss: Tensor, audio: Tensor, recon: Tensor, disc_opt: Any, generator_opt: Any
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """One discriminator step, then `loss` plus the generator's weighted adversarial and
        feature-matching losses. Leaves `generator_opt` toggled: the caller untoggles it."""
        s = self.settings
        # toggling freezes the other optimizer's parameters: each backward touches one model
        # (the documented GAN pattern, which also keeps DDP's gradient hooks consistent)
        self.toggle_optimizer(disc_opt)
        real = self.discriminators(audio)
        disc_loss = discriminator_loss(real, self.discriminators(recon.detach()))
        disc_opt.optimizer.zero_grad(set_to_none=True)  # raw: not counted in global_step
        self.manual_backward(disc_loss)
        torch.nn.utils.clip_grad_norm_(self.discriminators.parameters(), s.grad_clip)
        disc_opt.optimizer.step()
        self.untoggle_optimizer(disc_opt)
        self.toggle_optimizer(generator_opt)
        fake = self.discriminators(recon)
        adv, fm = generator_loss(fake), feature_matching_loss(real, fake)
        loss = loss + s.adversarial_weight * adv + s.feature_matching_weight * fm
        logs = {
            "train/discriminator": disc_loss,
            "train/adversarial": adv,
            "train/feature_matching": fm,
        }
        return loss, logs

    # --- the weight average (training.weight_average_decay): judged, kept and exported --------
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.weight_average is not None:
            self.weight_average.update()

    def on_validation_epoch_start(self) -> None:
        if self.weight_average is not None:
            self.weight_average.swap_in()

    def on_validation_epoch_end(self) -> None:
        if self.weight_average is not None:
            self.weight_average.swap_out()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.weight_average is not None:
            self.weight_average.store(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.weight_average is not None:
            self.weight_average.restore(checkpoint)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        audio, stereo = self._codec_batch(batch)
        length = audio.shape[-1]
        full = self.codec(audio).audio[:, :length]
        metrics = {}
        if stereo is not None:  # then the mid alone: what a mono codec's scores are on the downmix
            metrics.update(self._stereo_metrics(full, stereo))
            audio, full = audio[: stereo.shape[0]], full[: stereo.shape[0]]
        coarse = self.codec(audio, levels=1).audio[:, :length]
        spectral = self.spectral_loss(full, audio)
        metrics.update(
            {
                "val/mel_distance": spectral.mel,
                "val/mel_distance_level1": self.spectral_loss(coarse, audio).mel,
                "val/stft": spectral.stft,
                "val/envelope": self.envelope_loss(full, audio),
            }
        )
        self.log_dict(metrics, on_epoch=True, batch_size=audio.shape[0], sync_dist=True)
        self.log(
            "val_mel",
            metrics["val/mel_distance"],
            prog_bar=True,
            logger=False,
            batch_size=audio.shape[0],
            sync_dist=True,
        )

    def _stereo_metrics(self, full: Tensor, stereo: Tensor) -> dict[str, Tensor]:
        """Held-out stereo scores: mel of L and R, and the image's broadband errors (side/mid
        energy ratio in dB, L/R correlation) as experiments/bench_stereo.py measures them."""
        rebuilt = self._rebuilt(full, stereo)
        image = self.image_loss(rebuilt, stereo)
        return {
            "val/mel_left": self.spectral_loss(rebuilt[:, 0], stereo[:, 0]).mel,
            "val/mel_right": self.spectral_loss(rebuilt[:, 1], stereo[:, 1]).mel,
            "val/side_mid_db_error": (side_mid_db(rebuilt) - side_mid_db(stereo)).abs().mean(),
            "val/correlation_error": (correlation(rebuilt) - correlation(stereo)).abs().mean(),
            "val/band_correlation_error": image.correlation,
            "val/band_side_mid_db_error": image.side_mid_db,
        }


def side_mid_db(stereo: Tensor) -> Tensor:
    """(batch, 2, samples) -> (batch,) side/mid energy ratio in dB (-30 dB and below: mono)."""
    mid, side = to_mid_side(stereo.double())
    ratio = side.square().sum(-1).clamp(min=1e-12) / mid.square().sum(-1).clamp(min=1e-12)
    return (10 * ratio.log10()).clamp(min=-30).float()


def correlation(stereo: Tensor) -> Tensor:
    """(batch, 2, samples) -> (batch,) correlation of left and right over the whole clip."""
    left, right = stereo[:, 0].double(), stereo[:, 1].double()
    energy = (left.square().sum(-1) * right.square().sum(-1)).clamp(min=1e-24)
    return ((left * right).sum(-1) / energy.sqrt()).float()
