"""The set verdict: how a folder splits and what each training stage can make of it."""

from __future__ import annotations

from pathlib import Path

import factories

from sda.dataset.scan import DatasetReport, FileReport, scan_folder
from sda.dataset.verdict import duration, judge_set, makeup


def report_of(*files: tuple[float, int, int]) -> DatasetReport:
    """A scan's report built directly: one usable file per (seconds, sample rate, channels)."""
    entries = [
        FileReport(Path(f"/set/{i}.wav"), "ok", seconds=s, sample_rate=rate, channels=ch)
        for i, (s, rate, ch) in enumerate(files)
    ]
    entries.append(FileReport(Path("/set/broken.wav"), "skipped", reason="empty file"))
    return DatasetReport(folder=Path("/set"), sample_rate=48000, min_seconds=1.0, files=entries)


def test_a_tiny_set(tmp_path: Path) -> None:
    factories.write_tiny_audio(tmp_path / "tiny", count=2, seconds=0.5)
    report = scan_folder(tmp_path / "tiny", cache_dir=tmp_path / "cache")
    lines = judge_set(report).lines()
    assert lines == [
        "2 usable files, 1.0 s: 2 one-shots under 4 s (1.0 s); 2 mono; 48 kHz (2).",
        "codec: too little — only 1.0 s of one-shots; it will learn these exact sounds and little "
        "else; add at least 29 s more",
        "prior: too little — 1.0 s of one-shots: expect near copies of your material; "
        "add ~5 more minutes for variety",
    ]


def test_forty_drum_hits() -> None:
    # like the measured drum set: 40 one-shots, 32.5 s (RESULTS.md, Codec)
    hits = [(0.8, 44100, 1)] * 30 + [(0.84, 48000, 2)] * 10
    verdict = judge_set(report_of(*hits))
    assert verdict.lines() == [
        "40 usable files, 32 s: 40 one-shots under 4 s (32 s); 30 mono, 10 stereo; "
        "48 kHz (10), 44.1 kHz (30).",
        "codec: small — 32 s of one-shots: it will reproduce these sounds better than new ones; "
        "1 min 30 s or more generalises better",
        "prior: too little — 32 s of one-shots: expect near copies of your material; "
        "add ~5 more minutes for variety",
    ]
    assert verdict.codec.level == "small" and verdict.prior.level == "too little"


def test_long_recordings() -> None:
    verdict = judge_set(report_of((240.0, 48000, 2), (185.5, 48000, 2), (300.0, 96000, 1)))
    assert verdict.lines() == [
        "3 usable files, 12 min 06 s: 3 long recordings (12 min 06 s); 1 mono, 2 stereo; "
        "96 kHz (1), 48 kHz (2).",
        "codec: enough — 12 min 06 s of long recordings",
        "prior: enough — 12 min 06 s of long recordings: expect new takes in its character",
    ]


def test_a_mixed_set_in_between() -> None:
    # 161 s: 150 one-shots and one loop; enough for a codec, small for a prior
    verdict = judge_set(report_of(*[(1.0, 48000, 1)] * 150, (11.0, 48000, 1)))
    assert verdict.codec.line() == "codec: enough — 2 min 41 s of one-shots"
    assert verdict.prior.line() == (
        "prior: small — 2 min 41 s of one-shots: expect close variations of your material; "
        "add ~3 more minutes for more variety"
    )
    split = makeup(report_of((2.0, 48000, 1), (30.0, 48000, 1), (90.0, 48000, 1)))
    assert (split.one_shots, split.clips, split.long) == (1, 1, 1)
    assert split.kind == "one-shots, clips and long recordings"


def test_nothing_usable_and_durations() -> None:
    empty = report_of()
    assert judge_set(empty).lines()[0] == "Nothing usable in this folder."
    assert [duration(s) for s in (4.25, 42, 161, 3900)] == ["4.2 s", "42 s", "2 min 41 s", "1 h 05 min"]  # fmt: skip
