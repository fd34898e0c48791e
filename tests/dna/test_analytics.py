"""Analytics: usage histograms, signature codes, code profiles and file similarity."""

from __future__ import annotations

import numpy as np
import pytest

from sda.audio.descriptors import CONTROL_NAMES
from sda.dna import analytics
from sda.dna.codes import Codes, CodesError

SIZE = 8


def grid(rows: list[list[int]], bundle: str = "0123456789abcdef") -> Codes:
    return Codes(indices=np.array(rows), bundle_id=bundle, frame_rate=10.0, codebook_size=SIZE)


A = grid([[0, 0, 0, 1], [2, 2, 3, 3]])
B = grid([[0, 0, 5, 5], [2, 2, 2, 2]])
C = grid([[5, 5, 5, 5], [2, 2, 2, 2]])


def test_level_usage_counts_every_cell():
    counts = analytics.level_usage([A, B])
    assert counts.shape == (2, SIZE)
    assert counts[0].tolist() == [5, 1, 0, 0, 0, 2, 0, 0]
    assert counts.sum() == A.indices.size + B.indices.size
    summary = analytics.usage_summary(counts)
    assert summary[0]["used"] == 3 and summary[0]["top_code"] == 0
    assert summary[1]["perplexity"] == pytest.approx(
        np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    )


def test_signature_codes_prefer_codes_frequent_here_and_rare_elsewhere():
    signatures = analytics.signature_codes({"a": A, "b": B, "c": C}, top=2)
    # code 3 at level 1 and code 1 at level 0 only occur in A
    top_a = {(s.level, s.code) for s in signatures["a"]}
    assert (1, 3) in top_a
    assert all(s.elsewhere == 0 for s in signatures["a"] if (s.level, s.code) == (1, 3))
    # for C, code 5 at level 0 is shared with B but frequent; code 2 at level 1 is everywhere
    assert signatures["c"][0].level == 0 and signatures["c"][0].code == 5
    with pytest.raises(CodesError, match="levels must lie"):
        analytics.signature_codes({"a": A}, levels=[5])


def test_similarity_is_one_on_the_diagonal_and_ranks_neighbours():
    matrix = analytics.similarity({"a": A, "b": B, "c": C})
    assert np.allclose(np.diag(matrix), 1.0)
    assert np.allclose(matrix, matrix.T)
    assert matrix[1, 2] > matrix[0, 2]  # B shares more of C's codes than A does
    only_fine = analytics.similarity({"b": B, "c": C}, level_weights=[0, 1])
    assert only_fine[0, 1] == pytest.approx(1.0)
    with pytest.raises(CodesError, match="level weights"):
        analytics.similarity({"a": A}, level_weights=[1.0])


def test_code_profile_averages_descriptors_of_frames_using_each_code():
    names = ("brightness", "loudness")
    values_a = np.array([[0.1, 1.0], [0.3, 1.0], [0.5, 0.0], [0.9, 0.0]])
    values_b = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])  # one frame short: tail ignored
    profile = analytics.code_profile([(A, values_a), (B, values_b)], names)
    assert profile.count[0, 0] == 5
    assert profile.of(0, 1) == {"brightness": pytest.approx(0.9), "loudness": 0.0}
    assert profile.of(0, 0)["brightness"] == pytest.approx((0.1 + 0.3 + 0.5) / 5)
    assert np.isnan(profile.of(0, 7)["brightness"])
    assert profile.search("brightness", level=0) == [5, 1, 0]
    assert profile.search("brightness", level=0, highest=False, top=1) == [0]
    with pytest.raises(CodesError, match="unknown descriptor"):
        profile.search("sparkle", level=0)
    with pytest.raises(CodesError, match="shape"):
        analytics.code_profile([(A, np.zeros((4, 3)))], names)


def test_grids_from_different_models_are_refused():
    with pytest.raises(CodesError, match="different models"):
        analytics.level_usage([A, grid([[0], [0]], bundle="ffffffffffffffff")])
    with pytest.raises(CodesError, match="no code grids"):
        analytics.level_usage([])


def test_frame_descriptors_follow_the_sound_frame_by_frame():
    rate, per_frame = 48_000, 1024
    t = np.arange(rate // 2) / rate
    audio = np.concatenate([np.sin(2 * np.pi * 200 * t), 0.5 * np.sin(2 * np.pi * 6000 * t)])
    frames = -(-audio.size // per_frame)
    values = analytics.frame_descriptors(
        audio, sample_rate=rate, samples_per_frame=per_frame, frames=frames
    )
    assert values.shape == (frames, 6)
    brightness = values[:, 0]
    assert brightness[frames // 2 + 3 : -3].mean() > brightness[3 : frames // 2 - 3].mean() + 3
    stats = {name: [0.0, 1.0] for name in CONTROL_NAMES}
    normalised = analytics.frame_descriptors(
        audio, sample_rate=rate, samples_per_frame=per_frame, frames=frames, stats=stats
    )
    assert normalised.min() >= 0.0 and normalised.max() <= 1.0
