"""Decoding code grids to audio: any number of frames through the codec in crossfaded windows.

Decoding a whole minute at once would need memory proportional to its length; windows keep it flat.
Each window overlaps its neighbour; the decoder's edge effects fall in the outer quarters of the
overlap, which get no weight, and the middle half is a linear crossfade (the two windows decode the
same codes, so their audio is correlated and a linear fade keeps the level).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.side_by_side import side_by_side
from sda.models.low_oscillator import LowTone

if TYPE_CHECKING:
    from sda.library import Bundle
    from sda.models.codec import Codec

WINDOW_FRAMES = 256
OVERLAP_FRAMES = 16


def _window_starts(frames: int, window: int, hop: int) -> list[int]:
    """Window starts covering `frames`; the last window is full length and ends at the end."""
    starts = list(range(0, max(frames - window, 0), hop))
    starts.append(max(frames - window, 0))
    return starts


def _decode_windows(
    codec: Codec, windows: list[torch.Tensor], levels: int | None
) -> Iterator[np.ndarray]:
    """Each window's audio (samples,) in order, side by side on a CPU (`side_by_side`)."""

    def one(window: torch.Tensor) -> np.ndarray:
        return codec.decode(window, levels=levels)[0].float().cpu().numpy()

    return side_by_side(one, windows, on_cpu=windows[0].device.type == "cpu")


def _ramp(length: int) -> np.ndarray:
    """Rising linear ramp sampled at sample centres, so ramp + reversed ramp == 1 exactly."""
    return (np.arange(length) + 0.5) / length


@torch.inference_mode()
def decode_codes(
    model: Bundle | Codec,
    codes: Codes,
    *,
    levels: int | None = None,
    window_frames: int = WINDOW_FRAMES,
    overlap_frames: int = OVERLAP_FRAMES,
) -> np.ndarray:  # -> (frames * samples_per_frame,) float32 at the codec rate
    """Audio of a code grid of any length, decoded window by window with crossfades.

    `model` is a bundle (its id is known, so the codes are checked cheaply) or a bare codec."""
    check_codes(model, codes)
    codec = model_parts(model)[0]
    if overlap_frames < 4 or window_frames < 2 * overlap_frames:
        raise ValueError("need overlap_frames >= 4 and window_frames >= 2 * overlap_frames")
    device = next(codec.parameters()).device
    grid = torch.tensor(np.asarray(codes.indices), dtype=torch.long, device=device)[None]
    was_training = codec.training
    codec.eval()
    try:
        if codes.frames <= window_frames:
            return codec.decode(grid, levels=levels)[0].float().cpu().numpy()
        starts = _window_starts(codes.frames, window_frames, window_frames - overlap_frames)
        windows = [grid[:, :, start : start + window_frames] for start in starts]
        if codec.decoder.low_oscillator is None:
            return _joined(codec, starts, _decode_windows(codec, windows, levels), window_frames)
        return _joined_with_low_tone(codec, starts, windows, levels, window_frames)
    finally:
        codec.train(was_training)


def _window_weights(starts: list[int], window_frames: int, spf: int) -> Iterator[np.ndarray]:
    """Each window's weight per sample: 1 inside, crossfaded over the middle half of each overlap
    with a neighbour, 0 in the overlap's outer quarters (the decoder's edge effects)."""
    for index, start in enumerate(starts):
        end = start + window_frames
        weight = np.ones((end - start) * spf)
        if index > 0:  # fade in over the middle half of the overlap with the previous window
            overlap = starts[index - 1] + window_frames - start
            lo, hi = overlap // 4 * spf, (overlap - overlap // 4) * spf
            weight[:lo] = 0.0
            weight[lo:hi] = _ramp(hi - lo)
        if index + 1 < len(starts):  # and out over the middle half of the next overlap
            overlap = end - starts[index + 1]
            lo = (window_frames - overlap + overlap // 4) * spf
            hi = (window_frames - overlap // 4) * spf
            weight[lo:hi] *= 1.0 - _ramp(hi - lo)
            weight[hi:] = 0.0
        yield weight


def _joined(
    codec: Codec, starts: list[int], decoded: Iterator[np.ndarray], window_frames: int
) -> np.ndarray:
    """The windows' audio laid over one another with `_window_weights`."""
    spf = codec.config.samples_per_frame
    out = np.zeros((starts[-1] + window_frames) * spf, dtype=np.float64)
    weights = _window_weights(starts, window_frames, spf)
    for start, audio, weight in zip(starts, decoded, weights, strict=True):
        out[start * spf : (start + window_frames) * spf] += audio * weight
    return out.astype(np.float32)


def _joined_with_low_tone(
    codec: Codec,
    starts: list[int],
    windows: list[torch.Tensor],
    levels: int | None,
    window_frames: int,
) -> np.ndarray:
    """As `_joined`, for a codec with a low oscillator: the windows' head audio and oscillator
    tracks are joined with the same weights and the oscillator rendered once over the whole
    grid, so a held bass note keeps one phase across the joins (each window's own oscillator
    starts its phase at zero, and two such sines crossfaded can cancel)."""

    def parts(window: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        audio, tone = codec.decode_parts(window, levels=levels)
        return tuple(x[0].float().cpu().numpy() for x in (audio, tone.frequency_hz, tone.level))

    decoded = list(side_by_side(parts, windows, on_cpu=windows[0].device.type == "cpu"))
    audio = _joined(codec, starts, (d[0] for d in decoded), window_frames)
    spf = codec.config.samples_per_frame
    hop = codec.decoder.low_oscillator.hop_length
    frame_weights = [w[hop // 2 :: hop] for w in _window_weights(starts, window_frames, spf)]
    track = np.zeros((2, audio.size // hop))
    for start, (_, hz, level), weight in zip(starts, decoded, frame_weights, strict=True):
        first = start * spf // hop
        track[:, first : first + hz.size] += np.stack([hz, level]) * weight
    tone = LowTone(*(torch.from_numpy(row).float()[None] for row in track))
    low = codec.decoder.low_oscillator.render(tone)[0].numpy()
    return (audio + low).astype(np.float32)
