"""The RVQ-VAE codec: audio <-> a grid of integer codes (levels x frames), coarse to fine.

Plain `nn.Module`s only (no Lightning): `sda.training.codec_module` trains it, bundles ship it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sda.errors import SdaError
from sda.models.decoder import Decoder
from sda.models.encoder import Encoder
from sda.models.fine_time import SUB_FRAMES, band_limit
from sda.models.quantizer import Quantizer
from sda.models.spectral import EDGE_PADDINGS, HEAD_PHASES

# settings that older files may carry and that no longer change the model
_RETIRED_SETTINGS = frozenset({"commitment_weight"})
# settings added later, with the value every older file implicitly had: filled in on load and left
# out of the fingerprint at that value, so older bundles and their .sdacodes keep their identity
_LEGACY_DEFAULTS = {
    "edge_padding": "reflect",
    "head_upsample": 1,
    "fine_time_bands": 0,
    "channels": 1,
    "side_gain": 2.0,
    "side_levels": 0,
    "side_direction": False,
    "head_phase": "learned",
}
# EMA statistics change while training without changing what the codec computes
_TRAINING_ONLY_BUFFERS = (".cluster_size", ".embed_avg", ".initted")


class CodecError(SdaError):
    """Codec settings or inputs that cannot work (the message says which value and why)."""


@dataclass
class CodecConfig:
    """Everything needed to rebuild a codec; only primitives, so `asdict()` goes into checkpoints."""

    sample_rate: int = 48000
    n_fft: int = 2048
    hop_length: int = 512
    downsample: int = 2  # STFT frames per latent frame: 2 -> ~47 latent frames/s, 1 -> ~94
    latent_dim: int = 128
    num_levels: int = 8
    codebook_size: int = 256
    encoder_dim: int = 256
    encoder_blocks: int = 3  # at STFT frame rate
    encoder_latent_blocks: int = 2  # at latent frame rate
    decoder_dim: int = 256
    decoder_blocks: int = 4
    decoder_latent_blocks: int = 2
    mlp_ratio: float = 3.0
    kernel_size: int = 7
    ema_decay: float = 0.99
    kmeans_iters: int = 10
    rotation_trick: bool = False
    edge_padding: str = "zeros"  # what the encoder's STFT sees before time 0: zeros or reflect
    head_upsample: int = 1  # the iSTFT head's window and hop are n_fft, hop_length / this
    # where the head's phases come from: "learned" (predicted per frame; the shipped base's) or
    # "vocoder" (opt-in: from its magnitudes, sda.models.vocoder_phase; off the frame-rate comb)
    head_phase: str = "learned"
    # the encoder also reads this many bands' energy in 8 sub-frames of each hop (0: not)
    fine_time_bands: int = 0
    # stereo models (sda.models.stereo_codec): the same weights code mid and side; the side is
    # lifted by side_gain before coding and keeps side_levels levels (0: all of them)
    channels: int = 1
    side_gain: float = 2.0
    side_levels: int = 0
    # a stereo model's side grid ends with a direction row (sda.models.stereo_direction): where
    # the side sits; False on mono models and on stereo models from before it
    side_direction: bool = False

    def __post_init__(self) -> None:
        positive = [f.name for f in fields(self) if f.type in ("int", int)]
        for name in positive:
            if name.endswith("_blocks") or name in ("side_levels", "fine_time_bands"):
                if getattr(self, name) < 0:
                    raise CodecError(
                        f"codec setting {name} must be >= 0, got {getattr(self, name)}"
                    )
            elif getattr(self, name) <= 0:
                raise CodecError(
                    f"codec setting {name} must be positive, got {getattr(self, name)}"
                )
        if self.n_fft < self.hop_length or (self.n_fft - self.hop_length) % 2:
            raise CodecError(
                f"n_fft ({self.n_fft}) must be >= hop_length ({self.hop_length}) "
                "and differ from it by an even number"
            )
        if self.downsample not in (1, 2, 4):
            raise CodecError(f"downsample must be 1, 2 or 4, got {self.downsample}")
        if self.codebook_size < 2:
            raise CodecError(f"codebook_size must be at least 2, got {self.codebook_size}")
        u = self.head_upsample
        if (
            u not in (1, 2, 4)
            or self.n_fft % u
            or self.hop_length % u
            or (self.n_fft - self.hop_length) % (2 * u)
        ):
            raise CodecError(
                f"head_upsample must be 1, 2 or 4 and divide n_fft ({self.n_fft}) and hop_length "
                f"({self.hop_length}) into a window and hop that differ by an even number, got {u}"
            )
        self._check_fine_time()
        if self.head_phase not in HEAD_PHASES:
            raise CodecError(f"head_phase must be one of {HEAD_PHASES}, got {self.head_phase!r}")
        if self.edge_padding not in EDGE_PADDINGS:
            raise CodecError(
                f"edge_padding must be one of {EDGE_PADDINGS}, got {self.edge_padding!r}"
            )
        if not 0.0 < self.ema_decay < 1.0:
            raise CodecError(f"ema_decay must lie between 0 and 1, got {self.ema_decay}")
        self._check_stereo()
        if self.channels == 1:  # a mono model has no side to direct: one fingerprint for mono
            self.side_direction = False

    def _check_fine_time(self) -> None:
        limit = band_limit(self.hop_length)
        if self.fine_time_bands and not 1 <= self.fine_time_bands <= limit:
            raise CodecError(
                f"fine_time_bands must be 0 (off) or 1..{limit} with a hop_length of "
                f"{self.hop_length} (a multiple of {SUB_FRAMES} has sub-frames), "
                f"got {self.fine_time_bands}"
            )

    def _check_stereo(self) -> None:
        if self.channels not in (1, 2):
            raise CodecError(f"channels must be 1 (mono) or 2 (stereo), got {self.channels}")
        if not 1.0 <= float(self.side_gain) <= 16.0:
            raise CodecError(f"side_gain must lie between 1 and 16, got {self.side_gain}")
        if self.side_levels > self.num_levels:
            raise CodecError(
                f"side_levels must be 0 (all) .. num_levels ({self.num_levels}), "
                f"got {self.side_levels}"
            )

    @property
    def grid_levels(self) -> int:
        """Rows of one frame's codes: the levels, plus the side's for a stereo model (the
        prior's grid: mid levels first, then side levels, then the side's direction row)."""
        if self.channels == 1:
            return self.num_levels
        return self.num_levels + (self.side_levels or self.num_levels) + int(self.side_direction)

    @property
    def samples_per_frame(self) -> int:
        return self.hop_length * self.downsample

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.samples_per_frame

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CodecConfig:
        """Rebuild from `asdict()` output; unknown keys mean a newer/foreign file and are refused."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k not in _RETIRED_SETTINGS}
        unknown = sorted(set(values) - known)
        if unknown:
            raise CodecError(f"unknown codec settings {unknown}; was this saved by a newer sda?")
        return cls(**{**_LEGACY_DEFAULTS, **values})


@dataclass
class CodecOutput:
    audio: Tensor  # (batch, frames * samples_per_frame)
    codes: Tensor  # (batch, levels, frames) long; -1 where quantizer dropout skipped a level
    latents: Tensor  # (batch, latent_dim, frames) encoder output before quantization
    quantized: Tensor  # (batch, latent_dim, frames) what the decoder received
    commit_loss: Tensor  # scalar (zero outside training)
    levels: int  # how many levels were decoded (num_levels unless limited)
    # the synthesis head's log-magnitudes (batch, bins, head frames) when asked for (`head_frames`)
    head_log_magnitude: Tensor | None = None


class Codec(nn.Module):
    """Encoder -> residual VQ -> decoder. Mono, `config.sample_rate` Hz, inputs (batch, samples)."""

    def __init__(self, config: CodecConfig | None = None, *, sync_codebook: bool = False) -> None:
        super().__init__()
        self.config = config = config or CodecConfig()
        shared = dict(
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            downsample=config.downsample,
            latent_dim=config.latent_dim,
            mlp_ratio=config.mlp_ratio,
            kernel_size=config.kernel_size,
        )
        self.encoder = Encoder(
            dim=config.encoder_dim,
            blocks=config.encoder_blocks,
            latent_blocks=config.encoder_latent_blocks,
            edge_padding=config.edge_padding,
            fine_time_bands=config.fine_time_bands,
            **shared,
        )
        self.quantizer = Quantizer(
            dim=config.latent_dim,
            num_levels=config.num_levels,
            codebook_size=config.codebook_size,
            decay=config.ema_decay,
            kmeans_iters=config.kmeans_iters,
            rotation_trick=config.rotation_trick,
            sync_codebook=sync_codebook,
        )
        self.decoder = Decoder(
            dim=config.decoder_dim,
            blocks=config.decoder_blocks,
            latent_blocks=config.decoder_latent_blocks,
            head_upsample=config.head_upsample,
            head_phase=config.head_phase,
            **shared,
        )

    # --- shapes --------------------------------------------------------------------------------
    def num_frames(self, samples: int) -> int:
        return math.ceil(samples / self.config.samples_per_frame)

    def _prepare(self, audio: Tensor) -> Tensor:
        if audio.dim() == 3 and audio.shape[1] == 1:
            audio = audio[:, 0]
        if audio.dim() != 2:
            raise CodecError(
                f"the codec takes mono audio shaped (batch, samples), got {tuple(audio.shape)}"
            )
        target = self.num_frames(audio.shape[-1]) * self.config.samples_per_frame
        return F.pad(audio.float(), (0, target - audio.shape[-1]))  # (batch, frames * spf)

    def _check_levels(self, levels: int | None, available: int) -> int:
        levels = available if levels is None else levels
        if not 1 <= levels <= available:
            raise CodecError(f"levels must be between 1 and {available}, got {levels}")
        return levels

    # --- the contract --------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, audio: Tensor) -> Tensor:
        """(batch, samples) -> (batch, levels, ceil(samples / samples_per_frame)) long codes."""
        return self.latents_to_codes(self.encode_latents(audio))

    def encode_latents(self, audio: Tensor) -> Tensor:
        """(batch, samples) -> (batch, latent_dim, frames), before quantization."""
        audio = self._prepare(audio)
        if audio.shape[-1] == 0:
            return audio.new_zeros(audio.shape[0], self.config.latent_dim, 0)
        return self.encoder(audio)

    def decode(self, codes: Tensor, levels: int | None = None, start_frame: int = 0) -> Tensor:
        """(batch, L, frames) codes -> (batch, frames * samples_per_frame); first `levels` levels.
        `start_frame`: where the grid starts in a longer one (windows decoded apart)."""
        levels = self._check_levels(levels, codes.shape[1])
        return self.decode_latents(self.codes_to_latents(codes, levels), start_frame)

    def codes_to_latents(self, codes: Tensor, levels: int | None = None) -> Tensor:
        """(batch, L, frames) -> (batch, latent_dim, frames): the sum of the chosen code vectors."""
        if codes.dim() != 3 or codes.shape[1] > self.config.num_levels:
            raise CodecError(
                f"codes must be shaped (batch, levels <= {self.config.num_levels}, frames), "
                f"got {tuple(codes.shape)}"
            )
        if codes.numel() and (codes.max() >= self.config.codebook_size or codes.min() < -1):
            raise CodecError(f"code indices must lie in 0..{self.config.codebook_size - 1}")
        levels = self._check_levels(levels, codes.shape[1])
        return self.quantizer.codes_to_latents(codes.long(), levels)

    def latents_to_codes(self, latents: Tensor) -> Tensor:
        """Re-quantize latents: (batch, latent_dim, frames) -> (batch, levels, frames) long."""
        return self.quantizer.latents_to_codes(latents)

    def decode_latents(self, quantized: Tensor, start_frame: int = 0) -> Tensor:
        """(batch, latent_dim, frames) -> (batch, frames * samples_per_frame)."""
        if quantized.shape[-1] == 0:
            return quantized.new_zeros(quantized.shape[0], 0)
        return self.decoder(quantized, start_frame)

    def forward(
        self,
        audio: Tensor,
        *,
        levels: int | None = None,
        quantizer_dropout: bool = False,
        head_frames: bool = False,
    ) -> CodecOutput:
        """Encode, quantize, decode. In training mode the quantizer learns (EMA, dead codes) and
        `quantizer_dropout` stops at a random level; in eval mode this equals encode -> decode.
        `head_frames`: also return the synthesis head's log-magnitudes."""
        latents = self.encode_latents(audio)
        if self.training and self.quantizer.training:
            if levels is not None:
                raise CodecError("levels cannot be limited in training mode; use quantizer_dropout")
            result = self.quantizer(latents, dropout=quantizer_dropout)
            quantized, codes, commit = result.quantized, result.codes, result.commit_loss
            kept = int((codes[0, :, 0] >= 0).sum()) if codes.numel() else self.config.num_levels
        else:
            codes = self.latents_to_codes(latents)
            kept = self._check_levels(levels, self.config.num_levels)
            quantized = self.quantizer.codes_to_latents(codes, kept)
            commit = latents.new_zeros(())
        if head_frames and quantized.shape[-1]:
            audio, head = self.decoder(quantized, with_frames=True)
        else:
            audio, head = self.decode_latents(quantized), None
        return CodecOutput(
            audio=audio,
            codes=codes,
            latents=latents,
            quantized=quantized,
            commit_loss=commit,
            levels=kept,
            head_log_magnitude=head,
        )

    # --- identity ------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """16 hex chars: sha256 of the config and every weight that changes encode/decode output.

        EMA bookkeeping buffers are left out, so a bundle that strips them keeps the same id.
        """
        digest = hashlib.sha256()
        settings = {
            key: value
            for key, value in asdict(self.config).items()
            if _LEGACY_DEFAULTS.get(key, object()) != value
        }
        digest.update(json.dumps(settings, sort_keys=True).encode())
        for name, tensor in sorted(self.state_dict().items()):
            if name.endswith(_TRAINING_ONLY_BUFFERS):
                continue
            data = tensor.detach().to("cpu").contiguous()
            digest.update(f"{name}:{data.dtype}:{tuple(data.shape)}".encode())
            digest.update(
                data.numpy().tobytes()
                if data.dtype != torch.bfloat16
                else data.float().numpy().tobytes()
            )
        return digest.hexdigest()[:16]
