"""How well a prior's codec keeps each control on the prior's own material, measured at training.

The prior's data module has already encoded the material and analysed its descriptors; this
decodes (the mid of) those codes, analyses the decoded audio the same way and compares the two
per 1 s window (`sda.audio.control_fidelity`). The result is kept with the controls' ranges, so
`sda generate` and the app can say which sliders this model can hardly move.
"""

from __future__ import annotations

import numpy as np
import torch

from sda.audio.control_fidelity import fidelity, window_descriptors
from sda.audio.descriptors import analyse

MAX_SECONDS = 120.0  # of the material: bounds the cost (~1.5 s per minute on one busy core)
MIN_PIECE_SECONDS = 4.0  # from each recording, so short ones still count when the set is large
DECODE_CHUNK_FRAMES = 1024  # ~22 s at the laptop codec's 47 frames/s: bounds the decoder's memory


@torch.inference_mode()
def _decoded_mid(codec, codes: np.ndarray) -> np.ndarray:
    """(grid_levels, frames) codes -> the mid's decoded audio (samples,); the mid's grid comes
    first in a stereo codec's stacked grid."""
    device = next(codec.parameters()).device
    mid = torch.from_numpy(codes[: codec.config.num_levels].astype(np.int64)).to(device)
    pieces = [
        codec.decode(mid[None, :, start : start + DECODE_CHUNK_FRAMES])[0]
        for start in range(0, mid.shape[1], DECODE_CHUNK_FRAMES)
    ]
    return torch.cat(pieces).float().cpu().numpy()


def _piece_frames(files: list, max_seconds: float, frame_rate: float) -> list[int]:
    """Frames to measure from each file: all of them when the set fits `max_seconds`, else a
    share in proportion to its length (at least MIN_PIECE_SECONDS, at most the file)."""
    lengths = [f.frames for f in files]
    budget = max_seconds * frame_rate
    if sum(lengths) <= budget:
        return lengths
    share = budget / sum(lengths)
    floor = MIN_PIECE_SECONDS * frame_rate
    return [min(n, int(max(n * share, floor))) for n in lengths]


def measure_fidelity(codec, files: list, *, max_seconds: float = MAX_SECONDS) -> dict[str, float]:
    """{control: rho} for the recordings `files` (prior_data.EncodedFile, the originals); a
    control whose descriptor is constant over the material (no rho) is left out."""
    was_training = codec.training
    codec.eval()
    spf, rate = codec.config.samples_per_frame, codec.config.sample_rate
    original, decoded = [], []
    for file, frames in zip(files, _piece_frames(files, max_seconds, rate / spf), strict=True):
        if frames <= 0:
            continue
        audio = _decoded_mid(codec, file.codes[0][:, :frames])  # shift 0: the file as it starts
        samples = min(len(audio), frames * spf)
        pair = window_descriptors(file.descriptors, analyse(audio[:samples], rate), samples)
        original.append(pair[0])
        decoded.append(pair[1])
    codec.train(was_training)
    if not original:
        return {}
    measured = fidelity(np.concatenate(original), np.concatenate(decoded))
    return {name: rho for name, rho in measured.items() if np.isfinite(rho)}  # JSON-safe
