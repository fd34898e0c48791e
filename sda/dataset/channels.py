"""Mono or stereo for a training run: `model.channels=auto` trains a stereo model when most of the
usable audio, counted in seconds, is stereo. The choice comes with a sentence a musician reads at
the start of training and in `sda data inspect`, saying how to override it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sda.audio.io import open_sound_file
from sda.errors import SdaError

CHANNEL_SETTINGS = ("auto", 1, 2)


@dataclass(frozen=True)
class ChannelChoice:
    """The layout a run trains in, and why: `asked` is what the config said ("auto", 1 or 2)."""

    channels: int  # 1 (mono) or 2 (stereo)
    stereo_seconds: float
    seconds: float
    asked: str = "auto"

    @property
    def stereo_share(self) -> float:
        return self.stereo_seconds / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """E.g. `stereo (auto: 82 % of the audio, by seconds, is stereo); model.channels=1 trains
        a mono model instead`."""
        layout = "stereo" if self.channels == 2 else "mono"
        other = 1 if self.channels == 2 else 2
        share = f"{100 * self.stereo_share:.0f} % of the usable audio, by seconds, is stereo"
        why = f"auto: {share}" if self.asked == "auto" else f"model.channels={self.asked}; {share}"
        what = "a mono model" if other == 1 else "a stereo model"
        return f"{layout} ({why}); model.channels={other} trains {what} instead"


def parse_channels(value: object) -> str | int:
    """ "auto", 1 or 2 from a config value; anything else is a `SdaError` naming the setting."""
    text = str(value).strip().lower()
    if text in ("auto", "none", "null", ""):
        return "auto"
    if text in ("1", "2"):
        return int(text)
    raise SdaError(f"model.channels={value} is not allowed: use auto, 1 (mono) or 2 (stereo)")


def choose_channels(files: Iterable[tuple[int, float]], asked: object = "auto") -> ChannelChoice:
    """The run's layout from (channels, seconds) per usable file: stereo when more than half of
    the seconds are stereo (3+ channel files count as stereo: they fold to two)."""
    facts = list(files)
    seconds = float(sum(length for _, length in facts))
    stereo = float(sum(length for count, length in facts if count > 1))
    wanted = parse_channels(asked)
    mostly_stereo = seconds > 0 and stereo > seconds / 2
    channels = (2 if mostly_stereo else 1) if wanted == "auto" else wanted
    return ChannelChoice(channels, stereo, seconds, asked=str(wanted))


def header_facts(paths: Iterable[Path], known: dict[Path, dict]) -> list[tuple[int, float]]:
    """(channels, seconds) per readable file, from facts already measured (`known`, e.g. the
    cache's) or else the file's header: cheap, so a run can pick its layout before decoding."""
    facts = []
    for path in paths:
        info = known.get(path)
        if info is not None:
            if "error" not in info:
                facts.append((int(info["channels"]), float(info["seconds"])))
            continue
        # an unreadable file is judged by the scan
        with contextlib.suppress(Exception), open_sound_file(path) as handle:
            frames = handle.frames if 0 < handle.frames < (1 << 62) else 0
            facts.append((int(handle.channels), frames / handle.samplerate))
    return facts
