"""Export a generated sound as a release-ready file: format, rate, bit depth, loudness, layout, tags.

One entry point, `export_audio`, used by the CLI and the app. It resamples with the one resampler
(`sda.audio.dsp.resample`) and writes with the one writer (`sda.audio.io.write_audio`), so the file
appears complete or not at all and is never overwritten unless asked.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import signal

from sda.audio import spatial
from sda.audio.dsp import loudness_lufs, resample
from sda.audio.export_settings import (
    CHANNEL_LAYOUTS,
    DEFAULT_STEREO_WIDTH,
    FORMATS,
    SAMPLE_RATES,
    AudioFormat,
    ExportError,
    ExportSettings,
)
from sda.audio.io import AudioFileError, write_audio
from sda.audio.loop_points import LoopPoints, LoopPointsError, loop_tags, mark_loop
from sda.audio.loop_resample import resample_loop
from sda.audio.stereo_field import stereo_field
from sda.audio.tags import default_tags
from sda.disk_full import disk_full_message, is_disk_full

__all__ = [  # the formats and settings live in export_settings; here for older imports too
    "CHANNEL_LAYOUTS",
    "FORMATS",
    "SAMPLE_RATES",
    "AudioFormat",
    "ExportError",
    "ExportSettings",
    "export_audio",
    "normalise_loudness",
    "quantise",
    "safe_filename",
    "true_peak_db",
    "unique_path",
]
_AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"}


# --- names --------------------------------------------------------------------------------------

_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_filename(text: str, *, max_bytes: int = 150) -> str:
    """A file name that is valid on Windows, macOS and Linux: no separators, controls or reserved names."""
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = re.sub(r'[<>:"/\\|?*]', "_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")  # no hidden files, no trailing dots (Windows)
    if _RESERVED.match(text):
        text = "_" + text
    stem, dot, ext = text.rpartition(".") if "." in text else (text, "", "")
    if len(ext) > 8:  # not an extension, just a dot in the name
        stem, dot, ext = text, "", ""
    tail = dot + ext
    while len((stem + tail).encode("utf-8")) > max_bytes and stem:
        stem = stem[:-1]
    return (stem.rstrip(" .") + tail) if stem.rstrip(" .") else "untitled" + tail


def unique_path(path: str | Path) -> Path:
    """`path` if it is free, else the first free `name-2.ext`, `name-3.ext`, ..."""
    path = Path(path)
    if not path.exists():
        return path
    number = 2
    while (candidate := path.with_name(f"{path.stem}-{number}{path.suffix}")).exists():
        number += 1
    return candidate


# --- signal steps -------------------------------------------------------------------------------


_TRUE_PEAK_FILTER = signal.firwin(49, 0.25, window=("kaiser", 6.0)).astype(np.float32)


def true_peak_db(audio: np.ndarray) -> float:
    """Peak level in dBTP, 4x oversampled with a 48-tap filter as BS.1770-4 Annex 2 does."""
    upsampled = signal.resample_poly(
        np.asarray(audio, dtype=np.float32), 4, 1, axis=-1, window=_TRUE_PEAK_FILTER
    )
    peak = float(np.max(np.abs(upsampled), initial=0.0))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def normalise_loudness(audio, sample_rate: int, lufs: float, true_peak: float = -1.0):
    """Gain to reach `lufs` integrated loudness, lowered if needed so the true peak stays under."""
    measured = loudness_lufs(audio, sample_rate)
    if not np.isfinite(measured):
        return audio  # silence has no loudness to correct
    gain_db = lufs - measured
    gain_db -= max(0.0, true_peak_db(audio) + gain_db - true_peak)
    return audio * 10 ** (gain_db / 20)


def quantise(audio: np.ndarray, bits: int, *, dither: bool = True, seed: int = 0) -> np.ndarray:
    """Float (channels, samples) -> integer PCM codes, with TPDF dither of +-1 LSB."""
    scale = 2.0 ** (bits - 1)
    scaled = audio * scale
    if dither:
        rng = np.random.default_rng(seed)  # fixed: the same sound exports to the same bytes
        scaled = scaled + rng.random(scaled.shape) - rng.random(scaled.shape)
    return np.clip(np.rint(scaled), -scale, scale - 1).astype(np.int32)


def _layout(audio, rate, settings: ExportSettings, *, elevation, loop, motion, hrtf) -> np.ndarray:
    """(channels_in, samples) -> (1 or 2, samples) in the asked layout; a mono take gets its stereo
    field (width, movement) here, at export time, wrapping around if it is a `loop`."""
    channels, azimuth = settings.channels, settings.azimuth
    if audio.shape[0] > 2 or channels == "mono":
        audio = audio.mean(axis=0, keepdims=True)
    if channels == "mono":
        return audio
    spread = settings.width or settings.movement
    if audio.shape[0] == 1 and (channels == "stereo" or spread):
        width = settings.width
        if width is None:  # the layout's own: stereo spreads, binaural keeps a point source
            width = DEFAULT_STEREO_WIDTH if channels == "stereo" else 0.0
        audio = stereo_field(audio[0], rate, width=width, movement=settings.movement, loop=loop)
    if channels == "stereo":
        return spatial.pan(audio, spatial.azimuth_to_pan(azimuth)) if azimuth else audio
    kwargs = {"elevation": elevation, "hrtf": hrtf, "circular": loop}  # a loop's tail wraps
    if audio.shape[0] == 2:
        if motion is not None:
            raise spatial.SpatialError("A moving source needs mono audio; mix it down first.")
        return spatial.stereo_to_binaural(audio, rate, azimuth=azimuth, **kwargs)
    return spatial.binaural(audio[0], rate, azimuth=azimuth, path=motion, **kwargs)


def _loop_samples(loop_seconds: float | None, sample_rate: int, target: Path) -> int | None:
    """The exported loop's length in samples (None: not a loop)."""
    if loop_seconds is None:
        return None
    samples = round(float(loop_seconds) * sample_rate) if np.isfinite(loop_seconds) else 0
    if samples < 1:
        raise ExportError(
            f"Loop length {loop_seconds} s for {target} is not a length: it must be positive."
        )
    return samples


def _loop_tags(samples: int | None, spec) -> dict[str, str]:
    """A loop's points as tags, written with the file (FLAC/OGG/MP3; a WAV gets a `smpl` chunk)."""
    if samples is None or spec.container == "WAV":
        return {}
    return loop_tags(LoopPoints(0, samples))


def _mark_loop(target: Path, samples: int) -> None:
    """A WAV's `smpl` chunk, written beside the file and swapped in whole; the file goes if it
    cannot be (nothing half done)."""
    try:
        mark_loop(target, LoopPoints(0, samples))
    except (LoopPointsError, OSError) as exc:
        size = target.stat().st_size if target.exists() else 0  # the chunk is swapped in by a copy
        target.unlink(missing_ok=True)
        if is_disk_full(exc):
            full = disk_full_message(size, target.parent)
            raise ExportError(f"Could not write {target}: {full}; nothing was saved.") from None
        raise ExportError(f"Could not write the loop points of {target}: {exc}") from None


# --- the entry point ----------------------------------------------------------------------------


def _check_request(path, settings: ExportSettings, overwrite: bool, motion) -> Path:
    """Validate the path and the motion before any work: returns the target path."""
    spec = settings.spec
    if motion is not None and settings.channels != "binaural":
        raise ExportError("A moving source (motion path) needs the binaural channel layout.")
    path = Path(path)
    name = safe_filename(path.name)
    suffix = Path(name).suffix.lower()
    if suffix in _AUDIO_SUFFIXES and suffix != spec.extension:
        raise ExportError(
            f"{path} ends in {suffix} but the format is {spec.name}: make them agree."
        )
    if suffix != spec.extension:
        name += spec.extension
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"Folder {folder} does not exist: create it or choose another.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"Folder {folder} is read-only: choose a folder you can write to.")
    target = folder / name
    if target.is_dir() or (target.exists() and not overwrite):
        raise ExportError(f"{target} already exists: choose another name or allow overwriting.")
    return target


def _checked_audio(audio: np.ndarray, sample_rate_in: int, target: Path) -> np.ndarray:
    """(channels, samples) float64 audio to export, or an `ExportError` saying what is wrong."""
    if int(sample_rate_in) <= 0:
        raise ExportError(
            f"Input sample rate {sample_rate_in} Hz is not valid: it must be positive."
        )
    data = np.asarray(audio, dtype=np.float64)
    data = data[None, :] if data.ndim == 1 else data
    if data.ndim != 2 or data.shape[-1] == 0 or data.shape[0] > 64:
        raise ExportError(f"Nothing to export to {target}: expected (channels, samples) audio.")
    if not np.isfinite(data).all():
        raise ExportError(f"Audio for {target} contains NaN or infinite samples; nothing written.")
    return data


def export_audio(
    audio: np.ndarray,
    path: str | Path,
    *,
    sample_rate_in: int = 48_000,
    format: str = "wav",
    sample_rate: int = 48_000,
    bit_depth: int | None = None,
    channels: str = "mono",
    azimuth: float = 0.0,
    elevation: float = 0.0,
    width: float | None = None,
    movement: float = 0.0,
    loop_seconds: float | None = None,
    motion: Sequence[tuple[float, float, float]] | None = None,
    hrtf: str | Path | None = None,
    tags: dict | None = None,
    lufs: float | None = None,
    true_peak: float = -1.0,
    dither: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write audio (channels, samples) or (samples,) float to `path`; returns the path written.

    bit_depth None = 24 for wav/flac (32 = float WAV); lossy formats (ogg, opus, mp3) take none.
    azimuth: degrees clockwise, +90 = right (stereo pans by sin(azimuth)); `motion` is a binaural
    path of (seconds, azimuth, elevation) keyframes. The name is sanitised and the format's
    extension added when missing. Tags get `software` and `date` filled in.
    `width` and `movement` (0..1) set a mono sound's stereo field (see `ExportSettings`).
    `loop_seconds`: the audio is a seamless loop of this exact length (e.g. bars at a tempo); it
    is spread and resampled as a loop, cut to that length at the new rate, and the file carries
    its loop points (a WAV `smpl` chunk, LOOPSTART/LOOPLENGTH tags elsewhere).
    """
    settings = ExportSettings(
        format=format, sample_rate=sample_rate, bit_depth=bit_depth, channels=channels,
        azimuth=azimuth, lufs=lufs, width=width, movement=movement,
    )  # fmt: skip
    target = _check_request(path, settings, overwrite, motion)
    loop_samples = _loop_samples(loop_seconds, sample_rate, target)
    spec, subtype = settings.spec, settings.subtype
    data = _checked_audio(audio, sample_rate_in, target)
    try:
        data = _layout(
            data, sample_rate_in, settings, elevation=elevation, loop=loop_samples is not None,
            motion=motion, hrtf=hrtf,
        )  # fmt: skip
    except spatial.SpatialError as exc:
        raise ExportError(f"Cannot export {target}: {exc}") from None
    if loop_samples is None:
        data = resample(data, sample_rate_in, sample_rate)
    else:  # as one period of a repeating sound: the end still flows into the start
        data = resample_loop(data, sample_rate_in, sample_rate, samples=loop_samples)
    if lufs is not None:
        data = normalise_loudness(data, sample_rate, lufs, true_peak)
    if subtype.startswith("PCM"):  # dithered here; the writer keeps the codes as they are
        bits = int(subtype[4:])
        codes = quantise(data, bits, dither=dither)
        data = codes.astype(np.int16) if bits == 16 else codes << (32 - bits)
    try:
        write_audio(
            target, data, sample_rate, subtype=subtype, format=spec.container,
            compression=spec.compression,
            tags={**default_tags(), **(tags or {}), **_loop_tags(loop_samples, spec)},
            overwrite=overwrite,
        )  # fmt: skip
    except AudioFileError as exc:
        advice = " Free some space or choose another folder." if "disk full" in exc.reason else ""
        raise ExportError(
            f"Could not write {target}: {exc.reason}; nothing was saved.{advice}"
        ) from None
    if loop_samples is not None and spec.container == "WAV":
        _mark_loop(target, loop_samples)
    return target
