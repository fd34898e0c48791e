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
from sda.models.phase_steps import turned_phase
from sda.models.spectral import HeadFrames

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
    spf = codec.config.samples_per_frame
    frames = codes.frames
    device = next(codec.parameters()).device
    grid = torch.tensor(np.asarray(codes.indices), dtype=torch.long, device=device)[None]
    was_training = codec.training
    codec.eval()
    try:
        if frames <= window_frames:
            return codec.decode(grid, levels=levels)[0].float().cpu().numpy()
        starts = _window_starts(frames, window_frames, window_frames - overlap_frames)
        windows = [grid[:, :, start : start + window_frames] for start in starts]
        if codec.decoder.head.phase_steps is not None:
            decoded = _decode_with_phase_steps(codec, starts, windows, levels)
        else:
            decoded = _decode_windows(codec, windows, levels)
        return _joined(starts, decoded, window_frames, spf)
    finally:
        codec.train(was_training)


def _window_weights(starts: list[int], window_frames: int, spf: int) -> Iterator[np.ndarray]:
    """Each window's weight per sample: 1 inside, crossfaded over the middle half of each overlap
    with a neighbour, 0 in the overlap's outer quarters (the decoder's edge effects)."""
    for index, start in enumerate(starts):
        end = start + window_frames
        weight = np.ones((end - start) * spf)
        if index > 0:  # fade in over the middle half of the overlap with the previous window
            lo, hi = _fade_in(starts, index, window_frames)
            weight[: lo * spf] = 0.0
            weight[lo * spf : hi * spf] = _ramp((hi - lo) * spf)
        if index + 1 < len(starts):  # and out over the middle half of the next overlap
            shift = starts[index + 1] - start
            lo, hi = (f + shift for f in _fade_in(starts, index + 1, window_frames))
            weight[lo * spf : hi * spf] *= 1.0 - _ramp((hi - lo) * spf)
            weight[hi * spf :] = 0.0
        yield weight


def _fade_in(starts: list[int], index: int, window_frames: int) -> tuple[int, int]:
    """Frames (first, end) of window `index` over which it fades in: the middle half of its
    overlap with the previous window, counted from the window's start."""
    overlap = starts[index - 1] + window_frames - starts[index]
    return overlap // 4, overlap - overlap // 4


def _joined(
    starts: list[int], decoded: Iterator[np.ndarray], window_frames: int, spf: int
) -> np.ndarray:
    """The windows' audio laid over one another with `_window_weights`."""
    out = np.zeros((starts[-1] + window_frames) * spf, dtype=np.float64)
    weights = _window_weights(starts, window_frames, spf)
    for start, audio, weight in zip(starts, decoded, weights, strict=True):
        out[start * spf : (start + window_frames) * spf] += audio * weight
    return out.astype(np.float32)


def _decode_with_phase_steps(
    codec: Codec, starts: list[int], windows: list[torch.Tensor], levels: int | None
) -> Iterator[np.ndarray]:
    """Each window's audio, for a codec whose head has phase steps (sda.models.phase_steps):
    the windows' head frames are predicted side by side, then their phases turned in order, each
    window going on from the previous one's phase where its fade-in starts. A held note so keeps
    one phase through every join; two windows' own turns would differ there and cancel in the
    crossfade."""

    def predict(window: torch.Tensor) -> HeadFrames:
        return codec.decoder.head_frames(codec.codes_to_latents(window, levels))

    head = codec.decoder.head
    per_frame = codec.config.samples_per_frame // head.hop_length  # head frames a code frame
    window_frames = windows[0].shape[-1]
    previous: torch.Tensor | None = None
    predicted = side_by_side(predict, windows, on_cpu=windows[0].device.type == "cpu")
    for index, frames in enumerate(predicted):
        if previous is None:
            phase = turned_phase(
                frames.phase, frames.steps, frames.log_magnitude, hop_length=head.hop_length
            )
        else:
            fade = _fade_in(starts, index, window_frames)[0] * per_frame
            before = (starts[index] - starts[index - 1]) * per_frame + fade - 1
            tail = turned_phase(
                *(part[..., fade:] for part in (frames.phase, frames.steps, frames.log_magnitude)),
                hop_length=head.hop_length,
                carried=previous[..., before],
            )
            phase = torch.cat([frames.phase[..., :fade], tail], dim=-1)
        previous = phase
        yield head.render(frames, phase)[0].float().cpu().numpy()
