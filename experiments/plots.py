"""Pictures to listen with the eyes: waveform and spectrogram of an original over its copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_comparison(
    path: Path, original: np.ndarray, copy: np.ndarray, sample_rate: int, title: str
) -> Path:
    """A 2x2 PNG: waveforms (top) and log spectrograms (bottom), original left, copy right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col")
    time = np.arange(len(original)) / sample_rate
    peak = max(np.abs(original).max(), np.abs(copy).max(), 1e-6)
    for column, (name, audio) in enumerate((("original", original), ("reconstruction", copy))):
        audio = np.asarray(audio[: len(original)], dtype=np.float64)
        level = 20 * np.log10(max(np.abs(audio).max(), 1e-9))
        axes[0, column].plot(time[: len(audio)], audio, linewidth=0.5)
        axes[0, column].set_ylim(-peak, peak)
        axes[0, column].set_title(f"{name}: peak {level:.1f} dBFS")
        axes[1, column].specgram(
            audio + 1e-9, NFFT=1024, Fs=sample_rate, noverlap=768, cmap="magma", vmin=-140
        )
        axes[1, column].set_ylim(0, sample_rate / 2)
        axes[1, column].set_xlabel("seconds")
    axes[1, 0].set_ylabel("Hz")
    return _saved(figure, path, title)


def save_takes(
    path: Path, takes: list[tuple[str, np.ndarray]], sample_rate: int, title: str
) -> Path:
    """A PNG with one row per take: its waveform (left) and log spectrogram (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(takes), 2, figsize=(14, 2.2 * len(takes)), squeeze=False)
    for row, (name, audio) in enumerate(takes):
        audio = np.asarray(audio, dtype=np.float64)
        time = np.arange(len(audio)) / sample_rate
        level = 20 * np.log10(max(np.abs(audio).max(), 1e-9))
        axes[row, 0].plot(time, audio, linewidth=0.4)
        axes[row, 0].set_title(f"{name}: peak {level:.1f} dBFS", fontsize=9)
        axes[row, 0].set_xlim(0, time[-1] if len(time) else 1)
        axes[row, 1].specgram(
            audio + 1e-9, NFFT=1024, Fs=sample_rate, noverlap=768, cmap="magma", vmin=-140
        )
        axes[row, 1].set_ylim(0, sample_rate / 2)
    axes[-1, 0].set_xlabel("seconds")
    axes[-1, 1].set_xlabel("seconds")
    return _saved(figure, path, title)


def _saved(figure, path: Path, title: str) -> Path:
    """Title, lay out, write `path` (its folder made) and close the figure."""
    import matplotlib.pyplot as plt

    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
