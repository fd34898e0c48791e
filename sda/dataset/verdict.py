"""What a scanned folder is worth to each training stage: how the set splits, and a verdict with the
reason for the codec and for the prior, in a musician's words (pure functions over a DatasetReport).

The thresholds come from this project's measurements in experiments/RESULTS.md (cited at each).
They were measured training from scratch on 2 CPU cores for 10-20 minutes; revisit them when
starting from the base codec or longer budgets are measured.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from sda.dataset.scan import DatasetReport, FileReport

# A file shorter than the prior's window (prior_small: 192 frames, 4.1 s) is a one-shot to it:
# the prior chains such sounds into streams (sda.training.prior_data.pack_short_sounds).
ONE_SHOT_SECONDS = 4.0
LONG_SECONDS = 60.0  # a minute or more: a recording, not a clip or a loop

# Codec. RESULTS.md "Codec", rows of 2026-12-02:
# - drums, 40 one-shots, 32.5 s: it overfits. Before mixing, training clips 1.21 vs held-out 1.64;
#   with the mixing augmentation (now on for small sets) 1.18 vs 1.45. The smallest set measured,
#   so below it nothing is known but that it gets worse.
# - textures, 12 files, 93.4 s: held-out 1.15-1.17, mixing changed little (no longer limited by
#   overfitting) and codes used 93-99 % on every level.
CODEC_SMALL_SECONDS = 30.0  # below: too little
CODEC_ENOUGH_SECONDS = 90.0

# Prior. RESULTS.md "Prior":
# - "a small set of long recordings (textures, 12 files, 93 s)": without copies it learned the
#   codes by heart (training loss 1.17 vs 5.01 held out); with the default copies it still began
#   memorising after step 400 (2.63 vs 3.60). Below this: near copies of the material.
# - "varispeed and gain copies" on the sonic-pi folder (165 files, 324 s; the Data table): with
#   copies, validation cross-entropy fell throughout (3.86 -> 3.64) and the controls met their
#   targets (best of 4). At this size the prior makes new takes, not collages.
PRIOR_SMALL_SECONDS = 90.0  # below: too little
PRIOR_ENOUGH_SECONDS = 300.0

LEVELS = ("too little", "small", "enough")


@dataclass(frozen=True)
class SetMakeup:
    """How the usable audio splits: lengths, channels and sample rates."""

    files: int
    seconds: float
    one_shots: int  # shorter than ONE_SHOT_SECONDS
    one_shot_seconds: float
    clips: int  # ONE_SHOT_SECONDS up to LONG_SECONDS
    clip_seconds: float
    long: int  # LONG_SECONDS or more
    long_seconds: float
    mono: int
    stereo: int  # two or more channels
    sample_rates: dict[int, int]  # the files' own rate -> how many files

    @property
    def kind(self) -> str:
        """What the set mostly is, in words: "one-shots", "long recordings", ..."""
        parts = [
            (self.one_shot_seconds, "one-shots"),
            (self.clip_seconds, "clips"),
            (self.long_seconds, "long recordings"),
        ]
        present = [(s, name) for s, name in parts if s > 0]
        if not present:
            return "audio"
        main_seconds, main = max(present)
        if main_seconds >= 0.8 * self.seconds:
            return main
        names = [name for _, name in present]
        return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class StageVerdict:
    """One stage's verdict: `level` is one of LEVELS; `reason` and `advice` are plain words."""

    stage: str  # "codec" | "prior"
    level: str
    reason: str
    advice: str = ""

    def line(self) -> str:
        text = f"{self.stage}: {self.level} — {self.reason}"
        return f"{text}; {self.advice}" if self.advice else text


@dataclass(frozen=True)
class SetVerdict:
    makeup: SetMakeup
    codec: StageVerdict
    prior: StageVerdict

    def lines(self) -> list[str]:
        """The summary a musician reads before training: the set, then one line per stage."""
        return [describe_makeup(self.makeup), self.codec.line(), self.prior.line()]


def duration(seconds: float) -> str:
    """42 s, 2 min 41 s, 1 h 05 min."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def makeup(report: DatasetReport) -> SetMakeup:
    """Split the usable files by length, channels and sample rate."""
    usable = report.usable

    def total(files: list[FileReport]) -> float:
        return float(sum(f.seconds for f in files))

    one_shots = [f for f in usable if f.seconds < ONE_SHOT_SECONDS]
    long = [f for f in usable if f.seconds >= LONG_SECONDS]
    clips = [f for f in usable if ONE_SHOT_SECONDS <= f.seconds < LONG_SECONDS]
    return SetMakeup(
        files=len(usable),
        seconds=total(usable),
        one_shots=len(one_shots),
        one_shot_seconds=total(one_shots),
        clips=len(clips),
        clip_seconds=total(clips),
        long=len(long),
        long_seconds=total(long),
        mono=sum(f.channels <= 1 for f in usable),
        stereo=sum(f.channels > 1 for f in usable),
        sample_rates=dict(sorted(Counter(f.sample_rate for f in usable).items(), reverse=True)),
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def describe_makeup(m: SetMakeup) -> str:
    """The split in one line, e.g. `40 usable files, 32 s: 40 one-shots under 4 s (32 s); ...`."""
    if m.files == 0:
        return "Nothing usable in this folder."
    lengths = []
    if m.one_shots:
        lengths.append(
            f"{_count(m.one_shots, 'one-shot')} under 4 s ({duration(m.one_shot_seconds)})"
        )
    if m.clips:
        lengths.append(f"{_count(m.clips, 'clip')} of 4-60 s ({duration(m.clip_seconds)})")
    if m.long:
        lengths.append(f"{_count(m.long, 'long recording')} ({duration(m.long_seconds)})")
    channels = ", ".join(
        text for text in (m.mono and f"{m.mono} mono", m.stereo and f"{m.stereo} stereo") if text
    )
    rates = ", ".join(f"{rate / 1000:g} kHz ({n})" for rate, n in m.sample_rates.items())
    usable = _count(m.files, "usable file")
    return f"{usable}, {duration(m.seconds)}: {', '.join(lengths)}; {channels}; {rates}."


def _more(seconds: float, target: float) -> str:
    """How much more audio reaches `target`, e.g. `~5 more minutes` (whole minutes, at least 1)."""
    minutes = max(1, math.ceil((target - seconds) / 60))
    return f"~{minutes} more minute" + ("" if minutes == 1 else "s")


def codec_verdict(m: SetMakeup) -> StageVerdict:
    """Can a codec learn to reproduce this material, and also sounds like it that it has not heard?"""
    material = f"{duration(m.seconds)} of {m.kind}"
    if m.seconds < CODEC_SMALL_SECONDS:
        return StageVerdict(
            "codec",
            "too little",
            f"only {material}; it will learn these exact sounds and little else",
            f"add at least {duration(CODEC_SMALL_SECONDS - m.seconds)} more",
        )
    if m.seconds < CODEC_ENOUGH_SECONDS:
        return StageVerdict(
            "codec",
            "small",
            f"{material}: it will reproduce these sounds better than new ones",
            f"{duration(CODEC_ENOUGH_SECONDS)} or more generalises better",
        )
    return StageVerdict("codec", "enough", material)


def prior_verdict(m: SetMakeup) -> StageVerdict:
    """How far can the prior's takes move from the material it learned?"""
    material = f"{duration(m.seconds)} of {m.kind}"
    if m.seconds < PRIOR_SMALL_SECONDS:
        return StageVerdict(
            "prior",
            "too little",
            f"{material}: expect near copies of your material",
            f"add {_more(m.seconds, PRIOR_ENOUGH_SECONDS)} for variety",
        )
    if m.seconds < PRIOR_ENOUGH_SECONDS:
        return StageVerdict(
            "prior",
            "small",
            f"{material}: expect close variations of your material",
            f"add {_more(m.seconds, PRIOR_ENOUGH_SECONDS)} for more variety",
        )
    return StageVerdict("prior", "enough", f"{material}: expect new takes in its character")


def judge_set(report: DatasetReport) -> SetVerdict:
    """The set's make-up and a verdict per stage (codec, prior) for a scanned folder."""
    m = makeup(report)
    return SetVerdict(m, codec_verdict(m), prior_verdict(m))
