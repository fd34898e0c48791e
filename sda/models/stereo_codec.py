"""Stereo through the mono codec: mid/side coding with shared weights and a second code grid for S.

Decision: a stereo sound is coded as M = (L + R) / 2 and S = (L - R) / 2, both through the SAME
encoder, codebooks and decoder (two batch items), giving a mid grid (all levels) and a side grid
(its first `side_levels` levels). L = M + S and R = M - S rebuild the channels exactly. Why:
  - the mid grid IS the mono code grid of the downmix, so every mono tool (prior, edits,
    analytics, a mono decode) works on a stereo sound's mid unchanged, and a mono model keeps
    today's path and cost (this wrapper is never on it);
  - near-mono material (most music) has a small S: errors the decoder makes in S barely move the
    image, and the downmix is the mid decode, free of the phase cancellation two independently
    decoded L and R channels suffer (experiments/bench_stereo.py measures both schemes);
  - S carries less energy and detail, so it can use fewer levels (`side_levels`): a smaller grid
    for the prior to model and fewer codes to store.
S is usually 5-10 dB below M, where a codec trained on full-level sound is least faithful;
`side_gain` lifts it by a fixed factor before coding and lowers it after (a model setting: codes
decode with the gain of the model that made them). The default, 2, is the best of 1, 2 and 4 for
the side/mid energy ratio on held-out Warzone 2100 music (experiments/RESULTS.md, "## Stereo").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sda.models.codec import Codec, CodecError
from sda.models.stereo_direction import (
    directed_side,
    from_codes,
    has_direction,
    measured,
    split_side,
    to_codes,
)

DEFAULT_SIDE_GAIN = 2.0


def is_stereo(model: Any) -> bool:
    """Whether `model` is stereo: a `StereoCodec`, or a bundle or codec trained on stereo."""
    if getattr(model, "channels", None) == 2:
        return True
    config = getattr(getattr(model, "codec", model), "config", None)
    return getattr(config, "channels", 1) == 2


def to_mid_side(stereo: np.ndarray | Tensor) -> tuple:
    """(..., 2, samples) left/right -> (mid, side), each (..., samples): M = (L+R)/2, S = (L-R)/2."""
    left, right = stereo[..., 0, :], stereo[..., 1, :]
    return (left + right) / 2, (left - right) / 2


def to_left_right(mid: np.ndarray | Tensor, side: np.ndarray | Tensor):
    """(mid, side), each (..., samples) -> (..., 2, samples): L = M + S, R = M - S."""
    if isinstance(mid, Tensor):
        return torch.stack([mid + side, mid - side], dim=-2)
    return np.stack([mid + side, mid - side], axis=-2)


def decorrelated(side: np.ndarray | Tensor):
    """The side turned 90 degrees in phase at every frequency (a Hilbert transform, last axis).

    Why: the encoder reads magnitudes only, so S and -S give the same codes, and the decoder
    renders a side with the phase it gives the mid of the same spectrum: decoded as is, every
    side comes back in phase with the mid, so the image leans left (3-7 dB on held-out music) and
    a source on the right comes back on the left. Turned 90 degrees, the side is uncorrelated with
    the mid, as in most stereo recordings (room, reverb, spaced mics): left and right keep their
    balance and the width the side's level says. The cost: a source panned to one side comes
    back centred and wide, not on its side. Stereo models with a direction row
    (`sda.models.stereo_direction`) keep the pan; this is how models from before it decode."""
    length = side.shape[-1]
    turn = np.full(length // 2 + 1, -1j, dtype=np.complex64)  # -j at every positive frequency
    turn[0] = 0  # no DC in a side turned a quarter; nor Nyquist, which has no quarter turn
    if length % 2 == 0:
        turn[-1] = 0
    if isinstance(side, Tensor):
        spectrum = torch.fft.rfft(side.float(), n=length) * torch.from_numpy(turn).to(side.device)
        return torch.fft.irfft(spectrum, n=length).to(side.dtype)
    side = np.asarray(side)
    return np.fft.irfft(np.fft.rfft(side, n=length) * turn, n=length).astype(side.dtype, copy=False)


def decoded_left_right(mid, lifted_side, side_gain: float, rho=None, config=None):
    """The decoder's mid and (lifted) side -> (..., 2, samples) left/right, the side lowered by
    `side_gain`. With `rho` ((..., bands, frames), a model with a direction row, `config` its
    CodecConfig) the side is set where the row says (`stereo_direction.directed_side`); without
    it, `decorrelated` from the mid. Every stereo decode goes through here."""
    side = lifted_side / side_gain
    if rho is None:
        return to_left_right(mid, decorrelated(side))
    if isinstance(mid, Tensor):
        return to_left_right(mid, directed_side(mid, side, rho, config))
    as_tensor = [torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in (mid, side)]
    directed = directed_side(*as_tensor, torch.as_tensor(rho), config).numpy()
    return to_left_right(mid, directed.astype(np.asarray(side).dtype, copy=False))


def direction_row(stereo: Tensor, config) -> Tensor:
    """(batch, 2, samples) -> (batch, frames) long: the direction codes of each sound."""
    mid, side = to_mid_side(stereo.float())
    return to_codes(measured(mid, side, config), config.codebook_size)


def mid_side_batch(stereo: Tensor, side_gain: float = 1.0) -> Tensor:
    """(batch, 2, samples) stereo -> (2 * batch, samples): the mids, then the sides times
    `side_gain`, as one batch for the mono codec (how a stereo model trains: S is more audio)."""
    _check_stereo(stereo)
    mid, side = to_mid_side(stereo.float())
    return torch.cat([mid, side * side_gain])


@dataclass
class StereoCodes:
    """The two code grids of a batch of stereo sounds."""

    mid: Tensor  # (batch, levels, frames) long
    side: Tensor  # (batch, side_levels, frames) long


class StereoCodec:
    """A mono `Codec` used for stereo: mid/side, shared weights, a side grid of `side_levels`.

    It passes for a model wherever sound-DNA functions take one (`.codec`, `.channels == 2`);
    its id is the codec's fingerprint, so the mid grid of a stereo sound is a mono grid of the
    same model.
    """

    channels = 2

    def __init__(
        self,
        codec: Codec,
        *,
        side_levels: int | None = None,
        side_gain: float = DEFAULT_SIDE_GAIN,
    ) -> None:
        levels = codec.config.num_levels
        side_levels = levels if side_levels is None else int(side_levels)
        if not 1 <= side_levels <= levels:
            raise CodecError(f"side_levels must be between 1 and {levels}, got {side_levels}")
        if not 1.0 <= float(side_gain) <= 16.0:
            raise CodecError(f"side_gain must lie between 1 and 16, got {side_gain}")
        self.codec = codec
        self.side_levels = side_levels
        self.side_gain = float(side_gain)

    @classmethod
    def of(cls, codec: Codec) -> StereoCodec:
        """The stereo view a stereo-trained codec's own config asks for (its side gain/levels)."""
        config = codec.config
        if config.channels != 2:
            raise CodecError("this codec was trained on mono; it has no side grid")
        return cls(codec, side_levels=config.side_levels or None, side_gain=config.side_gain)

    @property
    def config(self):
        return self.codec.config

    def fingerprint(self) -> str:
        return self.codec.fingerprint()

    @property
    def direction(self) -> bool:
        """Whether the side grid ends with a direction row (`sda.models.stereo_direction`)."""
        return has_direction(self.codec.config)

    @torch.no_grad()
    def encode(self, stereo: Tensor) -> StereoCodes:
        """(batch, 2, samples) -> mid (batch, levels, frames) and side (batch, side_levels
        [+ 1 direction row], frames)."""
        batch = _check_stereo(stereo).shape[0]
        codes = self.codec.encode(mid_side_batch(stereo, self.side_gain))  # (2B, levels, frames)
        side = codes[batch:, : self.side_levels]
        if self.direction:
            row = direction_row(stereo, self.codec.config)[..., : side.shape[-1]]
            side = torch.cat([side, row[:, None, :].to(side.dtype)], dim=1)
        return StereoCodes(mid=codes[:batch], side=side)

    @torch.no_grad()
    def decode(self, codes: StereoCodes, levels: int | None = None) -> Tensor:
        """Both grids -> (batch, 2, frames * samples_per_frame); `levels` limits the mid's levels
        (the side keeps at most as many)."""
        if codes.mid.shape[0] != codes.side.shape[0] or codes.mid.shape[2] != codes.side.shape[2]:
            raise CodecError(
                f"the mid grid {tuple(codes.mid.shape)} and side grid {tuple(codes.side.shape)} "
                "must hold the same sounds and frames"
            )
        side, row = split_side(codes.side, self.codec.config)
        mid_levels = codes.mid.shape[1] if levels is None else levels
        side_levels = min(side.shape[1], mid_levels)
        latents = torch.cat(
            [
                self.codec.codes_to_latents(codes.mid, mid_levels),
                self.codec.codes_to_latents(side, side_levels),
            ]
        )  # (2 * batch, latent_dim, frames)
        audio = self.codec.decode_latents(latents)
        batch = codes.mid.shape[0]
        rho = None if row is None else from_codes(row, self.codec.config.codebook_size)
        return self._left_right(audio, batch, rho)

    @torch.no_grad()
    def reconstruct_unquantized(self, stereo: Tensor) -> Tensor:
        """Encoder -> decoder without the codebooks: (batch, 2, samples) -> (batch, 2, padded).
        The ceiling of mid/side coding with these weights (used by the benchmark)."""
        batch = _check_stereo(stereo).shape[0]
        latents = self.codec.encode_latents(mid_side_batch(stereo, self.side_gain))
        audio = self.codec.decode_latents(latents)
        rho = None
        if self.direction:
            rho = from_codes(direction_row(stereo, self.config), self.config.codebook_size)
        return self._left_right(audio, batch, rho)

    def _left_right(self, audio: Tensor, batch: int, rho: Tensor | None) -> Tensor:
        return decoded_left_right(audio[:batch], audio[batch:], self.side_gain, rho, self.config)


def _check_stereo(stereo: Tensor) -> Tensor:
    if stereo.dim() != 3 or stereo.shape[1] != 2:
        raise CodecError(
            f"stereo audio is shaped (batch, 2, samples), got {tuple(stereo.shape)}; "
            "a mono sound goes through the codec itself"
        )
    return stereo
