"""pick_codebook_size: a power of two, clamped to 64..1024, growing with the data."""

from __future__ import annotations

import pytest

from sda.training.codebook_size import pick_codebook_size


@pytest.mark.parametrize(
    ("frames", "size"),
    [(0, 64), (100, 64), (32 * 64, 64), (32 * 128 - 1, 64), (32 * 128, 128), (32 * 300, 256),
     (32 * 1024, 1024), (10**9, 1024)],
)  # fmt: skip
def test_examples(frames, size):
    assert pick_codebook_size(frames) == size


def test_rule_for_every_size():
    previous = 0
    for frames in range(0, 200_000, 97):
        size = pick_codebook_size(frames)
        assert size & (size - 1) == 0  # power of two
        assert 64 <= size <= 1024
        assert size >= previous  # more data never shrinks the codebook
        if 64 < size < 1024:
            # Exactly the floor: at least 32 frames per code, fewer than 64.
            assert 32 * size <= frames < 64 * size
        previous = size


def test_minutes_of_audio_at_47_frames_per_second():
    frames_per_second = 48000 / 1024
    assert pick_codebook_size(int(60 * frames_per_second)) == 64
    assert pick_codebook_size(int(10 * 60 * frames_per_second)) == 512
    assert pick_codebook_size(int(3600 * frames_per_second)) == 1024


def test_negative_is_a_bug():
    with pytest.raises(ValueError):
        pick_codebook_size(-1)
