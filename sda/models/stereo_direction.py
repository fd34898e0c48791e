"""Where a stereo sound sits: a coarse direction row beside the side grid (parametric stereo).

The codec's encoder reads magnitudes only, so a side S and its negation -S give the same codes:
a source on the right (S against the mid) and one on the left (S with the mid) are one grid.
Decoded as is, every side came back in phase with the mid and leaned left; turned 90 degrees
(`stereo_codec.decorrelated`) it keeps the balance but puts a panned source in the middle.

This module carries the missing sign, and how much of the side moves with the mid: per code frame
and per band, the correlation of S with M, rho = Re sum(M S*) / sqrt(sum|M|^2 sum|S|^2), in
[-1, 1] (+1: a source on the left, -1: on the right, 0: room, reverb, spaced mics). It is
measured from the sound (nothing learned), quantized to a few steps per band and packed into one
code per frame, a row the prior generates like any other. Decoding rebuilds the side per STFT bin
as rho * |S| along the mid's phase (the part that moves with the mid: a panned source) plus
sqrt(1 - rho^2) * the side turned 90 degrees (the part that does not: the room). Why one row of
three bands: a kick and a bass in the middle and a guitar on the left differ by band; more rows
would cost the prior more than the image gains.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from sda.audio.magnitude import cross_power, magnitude, power

BAND_EDGES_HZ = (400.0, 2500.0)  # three bands: lows, mids, highs
TINY = 1e-9


_STEPS = {  # steps per band -> the correlation each stands for; the ends +-1 (a hard pan)
    7: (-1.0, -0.65, -0.3, 0.0, 0.3, 0.65, 1.0),
    5: (-1.0, -0.5, 0.0, 0.5, 1.0),
    3: (-0.75, 0.0, 0.75),
    1: (0.0,),  # a codebook too small for three bands of three: the side turned 90 degrees
}


def direction_steps(codebook_size: int) -> np.ndarray:
    """The correlation values one band's step stands for: as many as fit the codebook with three
    bands (7**3 <= 512 codes, 5**3 <= 128, 3**3 <= 64: the smallest size `quantizer=auto`
    picks)."""
    count = max(q for q in _STEPS if q ** bands() <= max(codebook_size, 1))
    return np.array(_STEPS[count], dtype=np.float32)


def has_direction(model_or_config) -> bool:
    """Whether a stereo model's side grid ends with a direction row (`CodecConfig.side_direction`;
    stereo models from before it turn the side 90 degrees instead)."""
    config = getattr(model_or_config, "config", model_or_config)
    config = getattr(getattr(model_or_config, "codec", None), "config", config)
    return getattr(config, "channels", 1) == 2 and bool(getattr(config, "side_direction", False))


def split_side(rows, config):
    """A side grid (..., rows, frames) -> (its code levels, its direction row (..., frames) or
    None): what goes to the codec and what says where the side sits."""
    if not has_direction(config):
        return rows, None
    return rows[..., :-1, :], rows[..., -1, :]


def bands() -> int:
    return len(BAND_EDGES_HZ) + 1


def _band_slices(n_fft: int, sample_rate: int) -> list[slice]:
    """The STFT bins of each band, lowest first (bands are contiguous runs of bins)."""
    bins = n_fft // 2 + 1
    edges = [min(bins, int(np.ceil(hz * n_fft / sample_rate))) for hz in BAND_EDGES_HZ]
    bounds = [0, *edges, bins]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _stft(x: Tensor, config) -> Tensor:
    """(batch, samples) -> (batch, bins, frames) complex, hop `hop_length`, a window of two hops
    (half the codec's: bands this coarse need no finer bins, and it halves the cost)."""
    n_fft = 2 * config.hop_length
    window = torch.hann_window(n_fft, device=x.device, dtype=torch.float32)
    return torch.stft(
        x.float(), n_fft, config.hop_length, window=window, center=True, return_complex=True
    )


def measured(mid: Tensor, side: Tensor, config) -> Tensor:
    """(batch, samples) mid and side -> (batch, bands, frames) rho per code frame and band."""
    per_frame = config.downsample
    frames = -(-mid.shape[-1] // config.samples_per_frame)
    m, s = _stft(mid, config), _stft(side, config)
    sums = []
    for band in _band_slices(2 * config.hop_length, config.sample_rate):
        mb, sb = m[:, band], s[:, band]
        sums.append(torch.stack([cross_power(mb, sb).sum(1), power(mb).sum(1), power(sb).sum(1)]))
    summed = torch.stack(sums, dim=2)  # (3, batch, bands, stft frames)
    width = frames * per_frame
    summed = torch.nn.functional.pad(summed, (0, max(0, width - summed.shape[-1])))[..., :width]
    cross, mid_energy, side_energy = summed.reshape(*summed.shape[:3], frames, per_frame).sum(-1)
    return (cross / torch.sqrt(mid_energy * side_energy + TINY)).clamp(-1, 1)


def to_codes(rho: Tensor, codebook_size: int) -> Tensor:
    """(batch, bands, frames) rho -> (batch, frames) long: the nearest step per band, packed."""
    steps = torch.from_numpy(direction_steps(codebook_size)).to(rho.device)
    nearest = (rho[..., None] - steps).abs().argmin(-1)  # (B, bands, frames)
    weights = len(steps) ** torch.arange(bands(), device=rho.device)
    return (nearest * weights[:, None]).sum(1)


def from_codes(codes: Tensor, codebook_size: int) -> Tensor:
    """(batch, frames) codes -> (batch, bands, frames) rho. Codes past the packed range (a prior
    that strayed) read as centred."""
    steps = torch.from_numpy(direction_steps(codebook_size)).to(codes.device)
    count = len(steps)
    valid = (codes >= 0) & (codes < count ** bands())
    centre = int(np.argmin(np.abs(direction_steps(codebook_size))))
    digits = torch.stack([(codes // count**b) % count for b in range(bands())], dim=1)
    digits = torch.where(valid[:, None], digits, torch.full_like(digits, centre))
    return steps[digits]


def centred_code(codebook_size: int) -> int:
    """The code of a side that does not move with the mid in any band (rho = 0)."""
    steps = direction_steps(codebook_size)
    centre = int(np.argmin(np.abs(steps)))
    return int(sum(centre * len(steps) ** b for b in range(bands())))


def directed_side(mid: Tensor, side: Tensor, rho: Tensor, config) -> Tensor:
    """Decoded (..., samples) mid and side, (..., bands, frames) rho -> the side to play:
    rho * |S| along the mid's phase + sqrt(1 - rho^2) * S turned 90 degrees, per STFT bin."""
    shape, length = side.shape, side.shape[-1]
    m = _stft(mid.reshape(-1, length), config)
    s = _stft(side.reshape(-1, length), config)  # (B, bins, T)
    per_frame = rho.reshape(-1, *rho.shape[-2:]).float().repeat_interleave(config.downsample, -1)
    missing = max(0, m.shape[-1] - per_frame.shape[-1])  # the STFT's last frame: the row's last
    per_frame = torch.nn.functional.pad(per_frame, (0, missing), mode="replicate")
    per_frame = per_frame[..., : m.shape[-1]]  # (B, bands, T)
    out = torch.empty_like(s)
    for index, band in enumerate(_band_slices(2 * config.hop_length, config.sample_rate)):
        along = per_frame[:, index, None]  # (B, 1, T)
        across = torch.sqrt((1 - along.square()).clamp_min(0))
        mb, sb = m[:, band], s[:, band]
        # the mid's bin scaled to rho |S| keeps its phase; -j turns the side 90 degrees
        out[:, band] = (along * magnitude(sb) / (magnitude(mb) + TINY)) * mb + (-1j * across) * sb
    n_fft = 2 * config.hop_length
    window = torch.hann_window(n_fft, device=side.device, dtype=torch.float32)
    played = torch.istft(out, n_fft, config.hop_length, window=window, center=True, length=length)
    return played.reshape(shape).to(side.dtype)
