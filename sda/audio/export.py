"""Export a generated sound as a release-ready file: format, rate, bit depth, loudness, layout, tags.

One entry point, `export_audio`, used by the CLI and the app. The file appears complete or not at
all (temp file in the same folder, then an atomic rename) and is never overwritten unless asked.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from sda.audio import spatial
from sda.audio.tags import TagError, default_tags, write_tags
from sda.errors import SdaError

SAMPLE_RATES = (44_100, 48_000, 88_200, 96_000)
CHANNEL_LAYOUTS = ("mono", "stereo", "binaural")


class ExportError(SdaError):
    """An export that cannot be done as asked; nothing is left on disk."""


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extension: str
    container: str  # soundfile format
    subtypes: dict  # bit depth (None for lossy) -> soundfile subtype
    rates: tuple[int, ...] = SAMPLE_RATES
    compression: float | None = None  # soundfile compression_level for lossy codecs (0 = best)

    @property
    def lossless(self) -> bool:
        return None not in self.subtypes


FORMATS = {
    f.name: f
    for f in (
        AudioFormat("wav", ".wav", "WAV", {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}),
        AudioFormat("flac", ".flac", "FLAC", {16: "PCM_16", 24: "PCM_24"}),
        AudioFormat("ogg", ".ogg", "OGG", {None: "VORBIS"}, compression=0.3),
        AudioFormat("opus", ".opus", "OGG", {None: "OPUS"}, rates=(48_000,), compression=0.5),
        # MPEG-1 Layer III stops at 48 kHz.
        AudioFormat("mp3", ".mp3", "MP3", {None: "MPEG_LAYER_III"}, (44_100, 48_000), 0.1),
    )
}
_WRITE_BLOCK = 1 << 15  # frames per write call
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


@lru_cache(maxsize=16)
def _resampling_filter(up: int, down: int) -> np.ndarray:
    """Kaiser low-pass, -110 dB from the lower Nyquist on, so nothing folds back into the band."""
    stop = 1.0 / max(up, down)  # the lower Nyquist, relative to the upsampled Nyquist
    passband = 0.905 * stop  # flat to 20 kHz at 44.1 kHz
    taps, beta = signal.kaiserord(110.0, stop - passband)
    return signal.firwin(taps | 1, (passband + stop) / 2, window=("kaiser", beta))


def export_resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """High-quality polyphase resampling of (channels, samples); aliasing below -100 dB."""
    if orig_rate == new_rate:
        return audio
    divisor = gcd(int(orig_rate), int(new_rate))
    up, down = int(new_rate) // divisor, int(orig_rate) // divisor
    out = signal.resample_poly(audio, up, down, axis=-1, window=_resampling_filter(up, down))
    return out[..., : int(round(audio.shape[-1] * up / down))]


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
    from sda.audio.dsp import loudness_lufs  # pulls in torch: only when asked

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


def _layout(audio, rate, channels, *, azimuth, elevation, width, motion, hrtf) -> np.ndarray:
    """(channels_in, samples) -> (1 or 2, samples) in the asked layout."""
    if audio.shape[0] > 2 or channels == "mono":
        audio = audio.mean(axis=0, keepdims=True)
    if channels == "mono":
        return audio
    if channels == "stereo":
        stereo = (
            audio if audio.shape[0] == 2 else spatial.widen(audio[0], width=width, sample_rate=rate)
        )
        return spatial.pan(stereo, spatial.azimuth_to_pan(azimuth)) if azimuth else stereo
    kwargs = {"elevation": elevation, "hrtf": hrtf}
    if audio.shape[0] == 2:
        if motion is not None:
            raise spatial.SpatialError("A moving source needs mono audio; mix it down first.")
        return spatial.stereo_to_binaural(audio, rate, azimuth=azimuth, **kwargs)
    return spatial.binaural(audio[0], rate, azimuth=azimuth, path=motion, **kwargs)


# --- the entry point ----------------------------------------------------------------------------


def _check_request(path, format, sample_rate, bit_depth, channels, overwrite, lufs, motion):
    """Validate everything cheap before any work: returns (target path, AudioFormat, subtype)."""
    spec = FORMATS.get(str(format).lower().lstrip("."))
    if spec is None:
        raise ExportError(f"Unknown format {format!r}: choose one of {', '.join(FORMATS)}.")
    if sample_rate not in spec.rates:
        rates = ", ".join(str(r) for r in spec.rates)
        raise ExportError(f"{spec.name} cannot be written at {sample_rate} Hz: use {rates}.")
    if spec.lossless:
        bit_depth = 24 if bit_depth is None else bit_depth
        if bit_depth not in spec.subtypes:
            depths = ", ".join(str(d) for d in spec.subtypes)
            raise ExportError(f"{spec.name} cannot store {bit_depth}-bit audio: use {depths}.")
    elif bit_depth is not None:
        raise ExportError(
            f"{spec.name} is lossy and has no bit depth: leave it unset or use wav/flac."
        )
    if channels not in CHANNEL_LAYOUTS:
        raise ExportError(f"Unknown channel layout {channels!r}: use {', '.join(CHANNEL_LAYOUTS)}.")
    if motion is not None and channels != "binaural":
        raise ExportError("A moving source (motion path) needs the binaural channel layout.")
    if lufs is not None and not -70.0 <= lufs <= 0.0:
        raise ExportError(f"Loudness target {lufs} LUFS is out of range: use -70 to 0 (e.g. -14).")
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
    return target, spec, spec.subtypes[bit_depth if spec.lossless else None]


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
    width: float = 0.5,
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
    """
    target, spec, subtype = _check_request(
        path, format, sample_rate, bit_depth, channels, overwrite, lufs, motion
    )
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
    try:
        data = _layout(
            data, sample_rate_in, channels, azimuth=azimuth, elevation=elevation, width=width,
            motion=motion, hrtf=hrtf,
        )  # fmt: skip
    except spatial.SpatialError as exc:
        raise ExportError(f"Cannot export {target}: {exc}") from None
    data = export_resample(data, sample_rate_in, sample_rate)
    if lufs is not None:
        data = normalise_loudness(data, sample_rate, lufs, true_peak)
    if subtype.startswith("PCM"):
        bits = int(subtype[4:])
        codes = quantise(data, bits, dither=dither)
        frames = (codes.astype(np.int16) if bits == 16 else codes << (32 - bits)).T
    else:
        frames = (data if subtype == "FLOAT" else np.clip(data, -1.0, 1.0)).astype(np.float32).T
    _publish(
        target, spec, subtype, frames, sample_rate, {**default_tags(), **(tags or {})}, overwrite
    )
    return target


def _publish(target: Path, spec, subtype, frames, rate, tags, overwrite) -> None:
    """Write to a hidden temp file next to the target, tag it, then rename it into place."""
    # O_EXCL on a random hidden name; mode 0o666 so the umask applies as for any new file.
    temp = target.parent / f".{target.name}.{secrets.token_hex(4)}.part{spec.extension}"
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise ExportError(
            f"Cannot write in {target.parent} ({exc.strerror}): choose another folder."
        ) from None
    try:
        with sf.SoundFile(
            temp, "w", rate, frames.shape[1], subtype, format=spec.container,
            compression_level=spec.compression,
        ) as out:  # fmt: skip
            # In blocks: libvorbis allocas the whole pending buffer on the stack and crashes
            # the process on one long write (python-soundfile #396, libsndfile #1095).
            for start in range(0, len(frames), _WRITE_BLOCK):
                out.write(frames[start : start + _WRITE_BLOCK])
        write_tags(temp, tags)
        with open(temp, "rb+") as f:
            os.fsync(f.fileno())
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)  # fails if the name was taken meanwhile: never clobber
            except FileExistsError:
                raise ExportError(f"{target} already exists: choose another name.") from None
            except OSError:  # file systems without hard links
                if target.exists():
                    raise ExportError(f"{target} already exists: choose another name.") from None
                os.replace(temp, target)
    except (sf.LibsndfileError, TagError, OSError) as exc:
        raise ExportError(f"Could not write {target} ({exc}); nothing was saved.") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
