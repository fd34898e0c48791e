"""Stereo and binaural placement of a mono sound: a decorrelated side signal, pan, HRTF rendering.

Direction convention (ours, everywhere in sda): azimuth in degrees CLOCKWISE seen from above,
0 = front, +90 = the listener's RIGHT, -90 = left, 180 = behind; elevation +90 = above.
SOFA files count azimuth counter-clockwise (+90 = LEFT); `Hrtf` converts on the way in.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import signal

from sda.errors import SdaError


class SpatialError(SdaError):
    """A SOFA file that cannot be used, or a spatial setting out of range."""


def _as_mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    return audio if audio.ndim == 1 else audio.mean(axis=0)


# --- stereo -------------------------------------------------------------------------------------


def decorrelated_side(mono: np.ndarray, sample_rate: int, *, circular: bool = False) -> np.ndarray:
    """The side signal that widens a mono sound (`sda.audio.stereo_field` scales it): mono
    (samples,) through allpasses, high-passed at 200 Hz.

    `circular` filters the sound as if it repeated (a loop): its start then carries the filter's
    tail from its end, so the side signal loops as seamlessly as the sound."""
    mono = _as_mono(mono)
    response = _decorrelator(int(sample_rate))
    if not circular or len(mono) == 0:
        return signal.oaconvolve(mono, response)[: len(mono)]
    return signal.oaconvolve(with_history(mono, len(response) - 1), response, mode="valid")


def with_history(sound: np.ndarray, count: int) -> np.ndarray:
    """`sound` (samples,) preceded by the `count` samples that come before its start when it
    repeats (its own end, wrapping even when it is shorter than `count`): filtering this and
    keeping the valid part filters a loop as the loop it is, with no click at the seam."""
    return sound[np.arange(-count, len(sound)) % len(sound)]


@functools.lru_cache(maxsize=8)
def _decorrelator(sample_rate: int) -> np.ndarray:
    """Impulse response of the side-signal filter, cut once it has decayed below -120 dB."""
    impulse = np.zeros(sample_rate // 4)
    impulse[0] = 1.0
    response = impulse
    for delay_ms, gain in ((1.7, 0.6), (4.3, -0.5), (11.3, 0.4)):
        delay = max(1, round(delay_ms * sample_rate / 1000))
        b = np.zeros(delay + 1)
        a = np.zeros(delay + 1)
        b[0], b[-1] = -gain, 1.0  # H(z) = (-g + z^-d) / (1 - g z^-d): allpass
        a[0], a[-1] = 1.0, -gain
        response = signal.lfilter(b, a, response)
    highpass = signal.butter(4, 200.0, "highpass", fs=sample_rate, output="sos")
    response = signal.sosfilt(highpass, response)
    audible = np.flatnonzero(np.abs(response) > 1e-6 * np.abs(response).max())
    return response[: audible[-1] + 1]


def pan(stereo: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of (2, samples): position -1 = hard left, 0 = centre (unity), +1 = right."""
    if not -1.0 <= position <= 1.0:
        raise SpatialError(f"Pan position {position} is out of range: use a value from -1 to 1.")
    angle = (position + 1.0) * np.pi / 4
    gains = np.sqrt(2.0) * np.array([np.cos(angle), np.sin(angle)])  # sqrt(2): unity at centre
    return np.asarray(stereo, dtype=np.float64) * gains[:, None]


def azimuth_to_pan(azimuth: float) -> float:
    """Stereo pan position for a direction: +90 deg (right) -> +1, -90 -> -1, behind folds forward."""
    return float(np.clip(np.sin(np.radians(azimuth)), -1.0, 1.0))


# --- HRTF sets ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Hrtf:
    """HRIRs of one head, directions in OUR convention (clockwise azimuth, +90 = right)."""

    irs: np.ndarray  # (measurements, 2 ears [left, right], taps) float64, mean energy 1
    azimuths: np.ndarray  # (measurements,) degrees, clockwise
    elevations: np.ndarray  # (measurements,) degrees
    sample_rate: int
    source: str

    @functools.cached_property
    def _directions(self) -> np.ndarray:
        return _unit(self.azimuths, self.elevations)  # (measurements, 3)

    @functools.cached_property
    def _delays(self) -> np.ndarray:
        """Arrival time (fractional samples) of each HRIR: the energy peak, parabola-refined."""
        mag = np.abs(self.irs)
        peak = np.argmax(mag, axis=-1)
        idx = np.clip(peak, 1, self.irs.shape[-1] - 2)
        y0, y1, y2 = (np.take_along_axis(mag, (idx + k)[..., None], -1)[..., 0] for k in (-1, 0, 1))
        denom = y0 - 2 * y1 + y2
        safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
        return idx + np.where(np.abs(denom) > 1e-12, 0.5 * (y0 - y2) / safe, 0.0)

    def hrir(self, azimuth: float, elevation: float = 0.0, *, interpolate: bool = True):
        """The (2, taps) impulse response for a direction: nearest, or a blend of the 3 nearest.

        Blending aligns the three responses on their arrival times first and delays the blend by
        the weighted mean time, so interpolation does not smear the interaural delay into a comb.
        """
        target = _unit(np.array([azimuth]), np.array([elevation]))[0]
        angles = np.arccos(np.clip(self._directions @ target, -1.0, 1.0))
        order = np.argsort(angles)
        if not interpolate or angles[order[0]] < np.radians(0.5) or len(order) < 3:
            return self.irs[order[0]]
        nearest = order[:3]
        weights = 1.0 / angles[nearest]
        weights /= weights.sum()
        taps = self.irs.shape[-1]
        n_fft = 2 * taps
        omega = 2j * np.pi * np.fft.rfftfreq(n_fft)
        spectra = np.fft.rfft(self.irs[nearest], n_fft, axis=-1)  # (3, 2, bins)
        delays = self._delays[nearest]  # (3, 2)
        aligned = spectra * np.exp(omega * delays[..., None])
        mean_delay = np.einsum("k,ke->e", weights, delays)
        blend = np.einsum("k,keb->eb", weights, aligned) * np.exp(-omega * mean_delay[:, None])
        return np.fft.irfft(blend, n_fft, axis=-1)[:, :taps]

    def resampled(self, sample_rate: int) -> Hrtf:
        """The same set at another sample rate (the responses are short, so this is cheap)."""
        if sample_rate == self.sample_rate:
            return self
        g = np.gcd(sample_rate, self.sample_rate)
        irs = signal.resample_poly(self.irs, sample_rate // g, self.sample_rate // g, axis=-1)
        irs *= np.sqrt(1.0 / np.mean(np.sum(irs**2, axis=-1)))
        return Hrtf(irs, self.azimuths, self.elevations, sample_rate, self.source)


def _unit(azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> np.ndarray:
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    # x front, y RIGHT, z up: clockwise azimuth maps to +y
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def default_hrtf_path() -> Path:
    """The spherical-head HRTF shipped with sda (see sda.audio.hrtf_model)."""
    return Path(str(resources.files("sda") / "assets" / "default_hrtf.sofa"))


def load_hrtf(path: str | Path | None = None) -> Hrtf:
    """Read a SimpleFreeFieldHRIR SOFA file (None = the shipped default) into an `Hrtf`."""
    path = Path(path) if path is not None else default_hrtf_path()
    if not path.is_file():
        raise SpatialError(f"HRTF file {path} does not exist: give the path of a .sofa file.")
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, _mtime: int, _size: int) -> Hrtf:
    import sofar

    hint = "use a SimpleFreeFieldHRIR .sofa file, or leave the HRTF unset for the built-in one."
    # sofar insists on a .sofa suffix (it silently swaps the extension), so read through a copy.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "hrtf.sofa"
        shutil.copyfile(path, copy)
        try:
            sofa = sofar.read_sofa(str(copy), verbose=False)
        except Exception as exc:  # netCDF/HDF5 raise many types for a file that is not SOFA
            raise SpatialError(f"{path} is not a readable SOFA file ({exc}); {hint}") from None
    convention = getattr(sofa, "GLOBAL_SOFAConventions", "?")
    if convention != "SimpleFreeFieldHRIR":
        raise SpatialError(f"{path} uses the SOFA convention {convention!r}, not supported; {hint}")
    irs = np.asarray(sofa.Data_IR, dtype=np.float64)  # (measurements, receivers, taps)
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[2] < 2:
        raise SpatialError(f"{path} does not hold two-ear impulse responses; {hint}")
    positions = np.atleast_2d(np.asarray(sofa.SourcePosition, dtype=np.float64))
    if positions.shape[0] == 1 and irs.shape[0] > 1:
        positions = np.repeat(positions, irs.shape[0], axis=0)
    if "cartesian" in str(sofa.SourcePosition_Type).lower():
        x, y, z = positions[:, 0], positions[:, 1], positions[:, 2]
        positions = np.column_stack(
            [np.degrees(np.arctan2(y, x)), np.degrees(np.arctan2(z, np.hypot(x, y)))]
        )
    irs = _apply_delays(irs, np.asarray(sofa.Data_Delay, dtype=np.float64))
    receivers = np.asarray(sofa.ReceiverPosition, dtype=np.float64).reshape(2, -1)
    if receivers.shape[1] >= 2 and receivers[1, 1] > receivers[0, 1]:
        irs = irs[:, ::-1]  # SOFA's +y is left: the receiver further along +y is the left ear
    energy = np.mean(np.sum(irs**2, axis=-1))
    if not np.isfinite(energy) or energy <= 0:
        raise SpatialError(f"{path} holds silent or broken impulse responses; {hint}")
    return Hrtf(
        irs=irs / np.sqrt(energy),  # every set plays at the same loudness as the mono source
        azimuths=(-positions[:, 0]) % 360.0,  # SOFA counter-clockwise -> ours clockwise
        elevations=positions[:, 1],
        sample_rate=int(np.asarray(sofa.Data_SamplingRate).ravel()[0]),
        source=path,
    )


def _apply_delays(irs: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Fold SOFA's Data.Delay (whole samples, (1 or M, R)) into the responses."""
    delays = np.rint(np.broadcast_to(delays.reshape(-1, irs.shape[1]), irs.shape[:2])).astype(int)
    if not delays.any():
        return irs
    out = np.zeros(irs.shape[:2] + (irs.shape[2] + delays.max(),))
    for m, r in np.ndindex(*irs.shape[:2]):
        out[m, r, delays[m, r] : delays[m, r] + irs.shape[2]] = irs[m, r]
    return out


# --- binaural rendering -------------------------------------------------------------------------


def binaural(
    mono: np.ndarray,
    sample_rate: int,
    *,
    azimuth: float = 0.0,
    elevation: float = 0.0,
    path: Sequence[tuple[float, float, float]] | None = None,
    hrtf: Hrtf | str | Path | None = None,
    interpolate: bool = True,
    block: int = 1024,
    circular: bool = False,
) -> np.ndarray:
    """Render mono (samples,) to binaural (2, samples) at a fixed direction or along a path.

    `path` is a list of (seconds, azimuth, elevation) keyframes, linearly interpolated (azimuth the
    short way round); the HRIR is updated every `block` samples and crossfaded across the block.
    `circular`: the sound is a loop, so its start hears the room's tail of its end.
    """
    mono = _as_mono(mono)
    hrtf = hrtf if isinstance(hrtf, Hrtf) else load_hrtf(hrtf)
    hrtf = hrtf.resampled(sample_rate)
    if path is None:
        h = hrtf.hrir(azimuth, elevation, interpolate=interpolate)
        if circular and len(mono):
            wrapped = with_history(mono, h.shape[-1] - 1)
            return signal.oaconvolve(wrapped[None, :], h, axes=-1, mode="valid")
        return signal.oaconvolve(mono[None, :], h, axes=-1)[:, : len(mono)]
    centres = (np.arange(0, len(mono), block) + block / 2) / sample_rate
    az, el = _follow_path(path, centres)
    cache: dict[tuple[float, float], np.ndarray] = {}
    irs = []
    for a, e in zip(np.round(az, 1), np.round(el, 1), strict=True):
        if (a, e) not in cache:
            cache[(a, e)] = hrtf.hrir(a, e, interpolate=interpolate)
        irs.append(cache[(a, e)])
    return _render_blocks(mono, np.stack(irs), block, circular=circular)  # (blocks, 2, taps)


def _follow_path(path, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(path, dtype=np.float64).reshape(-1, 3)
    if len(keys) == 0 or np.any(np.diff(keys[:, 0]) < 0):
        raise SpatialError(
            "A source path needs (seconds, azimuth, elevation) keyframes in time order."
        )
    # Unwrap so 350 -> 10 deg moves 20 deg through the front, not 340 deg round the back.
    azimuths = np.degrees(np.unwrap(np.radians(keys[:, 1])))
    az = np.interp(times, keys[:, 0], azimuths) % 360.0
    return az, np.interp(times, keys[:, 0], keys[:, 2])


def _render_blocks(
    mono: np.ndarray, irs: np.ndarray, block: int, chunk: int = 256, *, circular: bool = False
) -> np.ndarray:
    """Block convolution, each block filtered by its HRIR and the previous one, crossfaded; a
    `circular` sound starts with its own end as history instead of silence."""
    n, taps = len(mono), irs.shape[-1]
    blocks = irs.shape[0]
    n_fft = 1 << int(np.ceil(np.log2(block + taps - 1)))
    start = (
        with_history(mono, taps - 1)
        if circular and n
        else np.concatenate([np.zeros(taps - 1), mono])
    )
    padded = np.concatenate([start, np.zeros(blocks * block - n)])
    spectra = np.fft.rfft(irs, n_fft, axis=-1)  # (blocks, 2, bins)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(block) + 0.5) / block)
    out = np.empty((2, blocks * block))
    for start in range(0, blocks, chunk):
        ks = np.arange(start, min(start + chunk, blocks))
        # Each segment carries taps-1 samples of history so the valid part is an exact convolution.
        index = ks[:, None] * block + np.arange(block + taps - 1)[None, :]
        seg = np.fft.rfft(padded[index], n_fft, axis=-1)[:, None, :]  # (k, 1, bins)
        cur = np.fft.irfft(seg * spectra[ks], n_fft, axis=-1)[..., taps - 1 : taps - 1 + block]
        prev = np.fft.irfft(seg * spectra[np.maximum(ks - 1, 0)], n_fft, axis=-1)
        prev = prev[..., taps - 1 : taps - 1 + block]
        mixed = prev + (cur - prev) * ramp  # (k, 2, block)
        out[:, ks[0] * block : (ks[-1] + 1) * block] = mixed.transpose(1, 0, 2).reshape(2, -1)
    return out[:, :n]


def stereo_to_binaural(stereo: np.ndarray, sample_rate: int, *, azimuth: float = 0.0, **kw):
    """Stereo (2, samples) as two virtual speakers at azimuth -/+ 30 deg."""
    stereo = np.asarray(stereo, dtype=np.float64)
    left = binaural(stereo[0], sample_rate, azimuth=azimuth - 30.0, **kw)
    right = binaural(stereo[1], sample_rate, azimuth=azimuth + 30.0, **kw)
    return left + right
