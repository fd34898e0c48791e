"""How many entries each quantizer codebook gets, from how much audio there is to learn from."""

from __future__ import annotations

MIN_CODEBOOK_SIZE = 64
MAX_CODEBOOK_SIZE = 1024
FRAMES_PER_CODE = 32  # latent frames the data should offer per codebook entry


def pick_codebook_size(num_frames: int) -> int:
    """Codebook size K for a dataset of `num_frames` latent frames (~47 frames per second).

    K = clamp(2 ** floor(log2(num_frames / 32)), 64, 1024): each code should see about 32
    frames or more, or most codes stay dead (with k-means initialisation they would memorise
    single frames). A power of two keeps sizes comparable between runs. Examples: 1 minute
    (~2,800 frames) -> 64; 10 minutes (~28,000) -> 512; an hour or more -> 1024.
    """
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if num_frames < FRAMES_PER_CODE * MIN_CODEBOOK_SIZE:
        return MIN_CODEBOOK_SIZE
    # floor(log2(x)) == floor(log2(floor(x))) for x >= 1; integer bit_length avoids float error.
    size = 1 << ((num_frames // FRAMES_PER_CODE).bit_length() - 1)
    return int(min(max(size, MIN_CODEBOOK_SIZE), MAX_CODEBOOK_SIZE))
