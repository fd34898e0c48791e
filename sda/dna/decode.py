"""Decoding code grids to audio: any number of frames through the codec in crossfaded windows.

Decoding a whole minute at once would need memory proportional to its length; windows keep it flat.
Each window overlaps its neighbour; the decoder's edge effects fall in the outer quarters of the
overlap, which get no weight, and the middle half is a linear crossfade (the two windows decode the
same codes, so their audio is correlated and a linear fade keeps the level). Each window is told
where it starts, so a head whose phases run on from the sound's start (`head_phase="vocoder"`)
plays a held tone in phase in both windows of an overlap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch

from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.side_by_side import side_by_side

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
    codec: Codec, grid: torch.Tensor, starts: list[int], window: int, levels: int | None
) -> Iterator[np.ndarray]:
    """Each window's audio (samples,) in order, side by side on a CPU (`side_by_side`)."""

    def one(start: int) -> np.ndarray:
        codes = grid[:, :, start : start + window]
        return codec.decode(codes, levels=levels, start_frame=start)[0].float().cpu().numpy()

    return side_by_side(one, starts, on_cpu=grid.device.type == "cpu")


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
    spf = codec.config.samples_per_frame
    frames = codes.frames
    device = next(codec.parameters()).device
    grid = torch.tensor(np.asarray(codes.indices), dtype=torch.long, device=device)[None]
    was_training = codec.training
    codec.eval()
    try:
        if frames <= window_frames:
            return codec.decode(grid, levels=levels)[0].float().cpu().numpy()
        out = np.zeros(frames * spf, dtype=np.float64)
        starts = _window_starts(frames, window_frames, window_frames - overlap_frames)
        decoded = _decode_windows(codec, grid, starts, window_frames, levels)
        for index, (start, audio) in enumerate(zip(starts, decoded, strict=True)):
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
            out[start * spf : end * spf] += audio * weight
        return out.astype(np.float32)
    finally:
        codec.train(was_training)
