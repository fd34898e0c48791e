"""What the codes mean: usage per level, each file's signature codes, how each code sounds, and
file-to-file similarity from code histograms.

Stereo sounds have two grids: each measure reads the mid by default (the mono image, comparable
with mono sounds) and the side with `part="side"`; `grid_usage` summarises both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sda.dna.codes import Codes, CodesError, Part


def _as_list(grids: Codes | Iterable[Codes], part: Part = "mid") -> list[Codes]:
    grids = [grids] if isinstance(grids, Codes) else list(grids)
    if not grids:
        raise CodesError("no code grids given; encode at least one sound")
    grids = [codes.part(part) for codes in grids]
    for other in grids[1:]:
        grids[0].check_compatible(other)
        if other.levels != grids[0].levels:
            raise CodesError(
                f"grids have {grids[0].levels} and {other.levels} levels; they must match"
            )
    return grids


def level_usage(grids: Codes | Iterable[Codes], *, part: Part = "mid") -> np.ndarray:
    """How often each code occurs at each level, over all grids. # (levels, codebook_size) int64"""
    grids = _as_list(grids, part)
    size = grids[0].codebook_size
    counts = np.zeros((grids[0].levels, size), dtype=np.int64)
    for codes in grids:
        for level, row in enumerate(codes.indices):
            counts[level] += np.bincount(row, minlength=size)
    return counts


def usage_summary(counts: np.ndarray) -> list[dict[str, float]]:
    """Per level: codes used, their share of the codebook and the perplexity (effective codes)."""
    rows = []
    for level, row in enumerate(counts):
        total = row.sum()
        p = row[row > 0] / max(total, 1)
        rows.append(
            {
                "level": level,
                "used": int((row > 0).sum()),
                "share": float((row > 0).mean()),
                "perplexity": float(np.exp(-(p * np.log(p)).sum())) if total else 0.0,
                "top_code": int(row.argmax()),
                "top_share": float(row.max() / total) if total else 0.0,
            }
        )
    return rows


def grid_usage(grids: Codes | Iterable[Codes]) -> dict[str, list[dict[str, float]]]:
    """`usage_summary` of the mid grids and, when every sound is stereo, of the side grids."""
    grids = [grids] if isinstance(grids, Codes) else list(grids)
    result = {"mid": usage_summary(level_usage(grids))}
    if grids and all(codes.channels == 2 for codes in grids):
        result["side"] = usage_summary(level_usage(grids, part="side"))
    return result


# ----------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class SignatureCode:
    """A code typical of one file: frequent there (`share`), rare in the others (`elsewhere`)."""

    level: int
    code: int
    score: float  # tf-idf: share x (1 + ln((1 + files) / (1 + files using it)))
    count: int  # frames of this file using the code at this level
    share: float  # fraction of this file's frames
    elsewhere: float  # fraction of all other files' frames


def signature_codes(
    grids: Mapping[str, Codes],
    *,
    top: int = 5,
    levels: Sequence[int] | None = None,
    part: Part = "mid",
) -> dict[str, list[SignatureCode]]:
    """The `top` most characteristic (level, code) pairs of each file's mid or side, tf-idf style."""
    names = list(grids)
    checked = _as_list((grids[n] for n in names), part)
    num_levels = checked[0].levels
    levels = list(range(num_levels)) if levels is None else list(levels)
    if any(not 0 <= level < num_levels for level in levels):
        raise CodesError(f"levels must lie in 0..{num_levels - 1}, got {levels}")
    counts = np.stack([level_usage(c) for c in checked])  # (files, levels, codebook_size)
    frames = np.array([c.frames for c in checked], dtype=np.float64)
    tf = counts / frames[:, None, None]
    used_by = (counts > 0).sum(axis=0)  # (levels, codebook_size)
    idf = 1.0 + np.log((1 + len(names)) / (1 + used_by))
    scores = tf * idf
    result: dict[str, list[SignatureCode]] = {}
    for f, name in enumerate(names):
        others = np.delete(counts, f, axis=0).sum(axis=0)
        other_frames = frames.sum() - frames[f]
        candidates = [
            (scores[f, level, code], level, code)
            for level in levels
            for code in np.flatnonzero(counts[f, level])
        ]
        candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
        result[name] = [
            SignatureCode(
                level=int(level),
                code=int(code),
                score=float(score),
                count=int(counts[f, level, code]),
                share=float(tf[f, level, code]),
                elsewhere=float(others[level, code] / other_frames) if other_frames else 0.0,
            )
            for score, level, code in candidates[:top]
        ]
    return result


# ----------------------------------------------------------------------------- similarity


def similarity(
    grids: Mapping[str, Codes],
    *,
    level_weights: Sequence[float] | None = None,
    part: Part = "mid",
) -> np.ndarray:
    """File-to-file similarity in 0..1 from code histograms. # (files, files)

    Per level the Bhattacharyya coefficient sum(sqrt(p * q)) of the two files' code distributions
    (1 = the same codes in the same proportions, 0 = no code in common), then a weighted mean over
    levels (equal weights by default). `part="side"` compares the rooms of stereo sounds.
    """
    checked = _as_list((grids[n] for n in grids), part)
    num_levels = checked[0].levels
    weights = np.ones(num_levels) if level_weights is None else np.asarray(level_weights, float)
    if weights.shape != (num_levels,) or (weights < 0).any() or weights.sum() <= 0:
        raise CodesError(f"give {num_levels} non-negative level weights (not all zero)")
    hist = np.stack([level_usage(c) for c in checked]).astype(np.float64)
    hist /= hist.sum(axis=2, keepdims=True)
    roots = np.sqrt(hist)  # (files, levels, codebook_size)
    per_level = np.einsum("ilc,jlc->ijl", roots, roots)
    return np.clip(per_level @ (weights / weights.sum()), 0.0, 1.0)


# ----------------------------------------------------------------------------- sound of a code


@dataclass(frozen=True)
class CodeProfile:
    """Mean descriptor values of the frames that use each code, so codes can be coloured by sound."""

    names: tuple[str, ...]  # descriptor names, e.g. CONTROL_NAMES
    mean: np.ndarray  # (levels, codebook_size, descriptors) float; NaN where a code is unused
    count: np.ndarray  # (levels, codebook_size) frames that used the code

    def of(self, level: int, code: int) -> dict[str, float]:
        """The profile of one code as {descriptor: mean value} (NaN when never used)."""
        return dict(zip(self.names, map(float, self.mean[level, code]), strict=True))

    def search(self, name: str, *, level: int, highest: bool = True, top: int = 10) -> list[int]:
        """The used codes of a level ordered by a descriptor, e.g. the brightest codes first."""
        if name not in self.names:
            raise CodesError(f"unknown descriptor {name!r}; choose from {', '.join(self.names)}")
        values = self.mean[level, :, self.names.index(name)]
        used = np.flatnonzero(self.count[level] > 0)
        order = used[np.argsort(values[used], kind="stable")]
        return [int(c) for c in (order[::-1] if highest else order)[:top]]


def code_profile(pairs: Iterable[tuple[Codes, np.ndarray]], names: Sequence[str]) -> CodeProfile:
    """Average per-frame descriptors over the frames using each code.

    `pairs` holds (codes, descriptors) with descriptors shaped (frames, len(names)), one row per
    codec frame (see `frame_descriptors`); shorter descriptor rows are allowed (the tail is padding).
    """
    pairs = list(pairs)
    grids = _as_list(codes for codes, _ in pairs)
    levels, size, width = grids[0].levels, grids[0].codebook_size, len(names)
    sums = np.zeros((levels, size, width))
    count = np.zeros((levels, size), dtype=np.int64)
    for codes, values in pairs:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != width:
            raise CodesError(f"descriptors must have shape (frames, {width}), got {values.shape}")
        frames = min(codes.frames, values.shape[0])
        for level in range(levels):
            row = codes.indices[level, :frames]
            np.add.at(sums[level], row, values[:frames])
            count[level] += np.bincount(row, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / count[:, :, None]
    return CodeProfile(names=tuple(names), mean=mean, count=count)


def frame_descriptors(
    audio: np.ndarray,
    *,
    sample_rate: int,
    samples_per_frame: int,
    frames: int,
    stats: Mapping[str, Sequence[float]] | None = None,
) -> np.ndarray:
    """Descriptors of each codec frame of a recording, CONTROL_NAMES order. # (frames, 6)

    Raw units by default; with a bundle's `descriptor_stats` they are normalised to 0..1 like the
    musical controls.
    """
    from sda.audio import descriptors

    analysed = descriptors.analyse(np.asarray(audio, dtype=np.float32), sample_rate)
    values = np.stack(
        [
            descriptors.aggregate(analysed, i * samples_per_frame, (i + 1) * samples_per_frame)
            for i in range(frames)
        ]
    )
    if stats:
        values = descriptors.DescriptorStats.from_dict(dict(stats)).normalize(values)
    return values
