"""Silences between chained one-shots, drawn so the streams span sparse to busy passages.

The prior learns density from what it hears. One-shots chained with one short gap make every
window equally busy, so a "sparse" setting has nothing to point at. Here the gap follows a slowly
changing tempo: a run of a few hits shares a gap scale drawn log-uniformly between `shortest` and
`longest`, each gap jittered around it, so a stream holds both rolls and hits with air between them.
"""

from __future__ import annotations

import numpy as np

RUN_HITS = (3, 8)  # hits that share one gap scale (a "passage")
JITTER = 0.3  # each gap within a passage varies by up to this fraction


def stream_gaps(count: int, *, shortest: int, longest: int, rng: np.random.Generator) -> list[int]:
    """`count` gap lengths in samples, each in [shortest, longest * (1 + JITTER)].

    `longest <= shortest` gives the old fixed gap everywhere (no density mix)."""
    if longest <= shortest:
        return [shortest] * count
    gaps: list[int] = []
    while len(gaps) < count:
        scale = np.exp(rng.uniform(np.log(shortest), np.log(longest)))
        run = int(rng.integers(RUN_HITS[0], RUN_HITS[1] + 1))
        jitter = rng.uniform(1 - JITTER, 1 + JITTER, size=run)
        gaps.extend(max(shortest, int(scale * j)) for j in jitter)
    return gaps[:count]
