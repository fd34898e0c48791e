"""A built-in demo dataset: ~16 varied synthetic recordings, the same bytes for the same seed.

Plucked strings (Karplus-Strong), FM bells, filtered-noise swells, drum patterns, drones,
granular textures, modal percussion and a filtered bass line, each with its own room, so a
codec has transients, pitch, noise and slow timbre changes to learn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.signal

from sda.audio.io import write_audio

SAMPLE_RATE = 48000
_TAU = 2 * np.pi
_SCALE = np.array([0, 2, 3, 5, 7, 10, 12, 14, 15, 17, 19])  # minor pentatonic-ish, in semitones


def _seconds_to_samples(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE))


def _karplus_strong(
    freq: float, seconds: float, rng: np.random.Generator, damping: float
) -> np.ndarray:
    """A plucked string: a noise burst circulating in a delay line with a two-tap averaging filter."""
    length = _seconds_to_samples(seconds)
    period = max(2, int(round(SAMPLE_RATE / freq)))
    burst = rng.uniform(-1, 1, period)
    burst = scipy.signal.lfilter([1 - damping * 0.5], [1, -damping * 0.5], burst)  # softer attack
    out = np.zeros(length + period + 1)
    out[1 : period + 1] = burst
    decay = 0.5 * (0.996 + 0.0035 * (1 - damping))
    # One delay-line period per step: y[n] = y[n-N] + decay * (y[n-N] + y[n-N-1]) kept vectorised.
    for start in range(period + 1, length + 1, period):
        stop = min(start + period, length + 1)
        previous = out[start - period - 1 : stop - period]
        out[start:stop] = decay * (previous[1:] + previous[:-1])
    return out[1 : length + 1]


def _plucks(rng: np.random.Generator, seconds: float) -> np.ndarray:
    out = np.zeros(_seconds_to_samples(seconds))
    root = rng.uniform(110, 330)
    step = 60 / rng.uniform(70, 150) / rng.choice([1, 2])
    time = 0.0
    while time < seconds - 0.3:
        freq = root * 2 ** (rng.choice(_SCALE) / 12)
        note = _karplus_strong(freq, min(3.0, seconds - time), rng, rng.uniform(0.1, 0.9))
        start = _seconds_to_samples(time)
        out[start : start + len(note)] += note * rng.uniform(0.4, 1.0)
        time += step * rng.choice([1, 1, 2, 0.5])
    return out


def _bells(rng: np.random.Generator, seconds: float) -> np.ndarray:
    out = np.zeros(_seconds_to_samples(seconds))
    ratio = rng.choice([1.4, 2.76, 3.5, 1.99, 4.1])
    for strike in range(int(rng.integers(2, 6))):
        offset = _seconds_to_samples(rng.uniform(0, seconds * 0.7)) if strike else 0
        t = np.arange(len(out) - offset) / SAMPLE_RATE
        carrier = rng.uniform(180, 900)
        index = rng.uniform(2, 8) * np.exp(-t / rng.uniform(0.3, 1.5))
        tone = np.sin(_TAU * carrier * t + index * np.sin(_TAU * carrier * ratio * t))
        out[offset:] += tone * np.exp(-t / rng.uniform(0.8, 3.0)) * rng.uniform(0.3, 1.0)
    return out


def _noise_swell(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Noise shaped frame by frame in the spectrum: a resonance sweeping under a slow swell."""
    n_fft, hop = 2048, 512
    frames = _seconds_to_samples(seconds) // hop + 1
    freqs = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)
    position = np.linspace(0, 1, frames)
    low, high = sorted(rng.uniform(200, 8000, 2))
    center = low * (high / low) ** (0.5 - 0.5 * np.cos(_TAU * position * rng.uniform(0.5, 2)))
    width = rng.uniform(0.15, 0.6)  # in octaves
    shape = np.exp(-0.5 * (np.log2((freqs[:, None] + 20) / center[None, :]) / width) ** 2)
    swell = np.sin(np.pi * position) ** rng.uniform(0.5, 2)
    phase = rng.uniform(0, _TAU, shape.shape)
    spectrum = (shape + 0.02) * swell[None, :] * np.exp(1j * phase)
    _, audio = scipy.signal.istft(spectrum, fs=SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
    return audio[: _seconds_to_samples(seconds)]


def _drum_kit(rng: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(_seconds_to_samples(0.6)) / SAMPLE_RATE
    kick_pitch = rng.uniform(45, 70) + rng.uniform(80, 200) * np.exp(-t / 0.03)
    kick = np.sin(_TAU * np.cumsum(kick_pitch) / SAMPLE_RATE) * np.exp(-t / rng.uniform(0.12, 0.3))
    noise = rng.standard_normal(len(t))
    snare = 0.6 * noise * np.exp(-t / rng.uniform(0.05, 0.15)) + 0.5 * np.sin(
        _TAU * rng.uniform(160, 240) * t
    ) * np.exp(-t / 0.05)
    hat_noise = scipy.signal.sosfilt(
        scipy.signal.butter(4, 7000, "high", fs=SAMPLE_RATE, output="sos"), noise
    )
    hat = hat_noise * np.exp(-t / rng.uniform(0.015, 0.05))
    return {"kick": kick, "snare": snare, "hat": 0.5 * hat}


def _drums(rng: np.random.Generator, seconds: float) -> np.ndarray:
    out = np.zeros(_seconds_to_samples(seconds) + _seconds_to_samples(0.6))
    kit = _drum_kit(rng)
    sixteenth = 60 / rng.uniform(85, 140) / 4
    patterns = {
        "kick": rng.random(16) < np.where(np.arange(16) % 4 == 0, 0.9, 0.15),
        "snare": rng.random(16) < np.where(np.arange(16) % 8 == 4, 0.95, 0.07),
        "hat": rng.random(16) < rng.uniform(0.4, 0.9),
    }
    for step in range(int(seconds / sixteenth)):
        for name, pattern in patterns.items():
            if pattern[step % 16]:
                start = _seconds_to_samples(step * sixteenth + rng.normal(0, 0.004) * (step > 0))
                out[start : start + len(kit[name])] += kit[name] * rng.uniform(0.6, 1.0)
    return out[: _seconds_to_samples(seconds)]


def _drone(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(_seconds_to_samples(seconds)) / SAMPLE_RATE
    root = rng.uniform(40, 110)
    out = np.zeros_like(t)
    tilt = 1.3 + 0.6 * np.sin(
        _TAU * rng.uniform(0.05, 0.3) * t + rng.uniform(0, _TAU)
    )  # slow brightness
    for detune in (0.0, rng.uniform(0.1, 0.6)):
        for harmonic in range(1, 25):
            freq = (root + detune) * harmonic
            if freq > 12000:
                break
            amp = harmonic ** (-tilt) * (1 + 0.3 * np.sin(_TAU * rng.uniform(0.02, 0.2) * t))
            out += amp * np.sin(_TAU * freq * t + rng.uniform(0, _TAU))
    return out


def _granular(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Short windowed grains of a source sound scattered in time and pitch."""
    source = _bells(rng, 2.0) if rng.random() < 0.5 else _plucks(rng, 2.0)
    out = np.zeros(_seconds_to_samples(seconds))
    density = rng.uniform(20, 80)
    for _ in range(int(density * seconds)):
        size = _seconds_to_samples(rng.uniform(0.02, 0.12))
        pitch = 2 ** (rng.choice([-12, -5, 0, 7, 12]) / 12)
        start = rng.uniform(0, len(source) - size * pitch - 1)
        grain = np.interp(start + np.arange(size) * pitch, np.arange(len(source)), source)
        at = int(rng.integers(0, len(out) - size))
        out[at : at + size] += grain * np.hanning(size) * rng.uniform(0.2, 1.0)
    return out


def _modal_hits(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Struck wood/metal: a few damped inharmonic modes plus a click, at irregular times."""
    out = np.zeros(_seconds_to_samples(seconds) + _seconds_to_samples(1.5))
    t = np.arange(_seconds_to_samples(1.5)) / SAMPLE_RATE
    modes = rng.uniform(150, 6000, int(rng.integers(4, 10)))
    decays = rng.uniform(0.03, 0.8, len(modes))
    time = 0.0
    while time < seconds:
        hit = sum(
            np.sin(_TAU * f * rng.uniform(0.99, 1.01) * t) * np.exp(-t / d) / (1 + i)
            for i, (f, d) in enumerate(zip(modes, decays, strict=True))
        )
        hit += rng.standard_normal(len(t)) * np.exp(-t / 0.004) * 0.5
        start = _seconds_to_samples(time)
        out[start : start + len(t)] += hit * rng.uniform(0.3, 1.0)
        time += rng.choice([0.125, 0.25, 0.375, 0.5, 0.75])
    return out[: _seconds_to_samples(seconds)]


def _bass(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A filtered sawtooth bass line: brightness closes over each note."""
    out = np.zeros(_seconds_to_samples(seconds))
    root = rng.uniform(38, 80)
    note_seconds = 60 / rng.uniform(90, 130) / 2
    harmonics = np.arange(1, 41)[:, None]
    t = np.arange(_seconds_to_samples(note_seconds)) / SAMPLE_RATE
    for note in range(int(seconds / note_seconds)):
        freq = root * 2 ** (rng.choice(_SCALE[:6]) / 12)
        closing = rng.uniform(0.05, 0.3)
        brightness = np.exp(-harmonics * 0.15 * (1 + t[None, :] / closing))
        partials = np.sin(_TAU * freq * harmonics * t[None, :]) / harmonics * brightness
        start = _seconds_to_samples(note * note_seconds)
        tone = partials.sum(axis=0) * np.minimum(1, (len(t) - np.arange(len(t))) / 200)
        out[start : start + len(t)] += tone[: len(out) - start]
    return out


_GENERATORS: tuple[tuple[str, Callable[[np.random.Generator, float], np.ndarray]], ...] = (
    ("pluck", _plucks),
    ("bell", _bells),
    ("swell", _noise_swell),
    ("drums", _drums),
    ("drone", _drone),
    ("grains", _granular),
    ("hits", _modal_hits),
    ("bass", _bass),
)


def _room(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small synthetic room: exponentially decaying noise as the impulse response."""
    t = np.arange(_seconds_to_samples(rng.uniform(0.2, 1.2))) / SAMPLE_RATE
    response = rng.standard_normal(len(t)) * np.exp(-t / (t[-1] / 6))
    response /= np.sqrt(np.sum(response**2))
    wet = scipy.signal.fftconvolve(audio, response)[: len(audio)]
    return audio + rng.uniform(0.05, 0.35) * wet


def synthesize_demo_set(
    out_dir: str | os.PathLike, *, seed: int = 0, count: int = 16
) -> list[Path]:
    """Write `count` mono 48 kHz 24-bit wav files of 3-10 s to `out_dir`; same seed, same files."""
    out_dir = Path(out_dir)
    paths = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        name, generate = _GENERATORS[index % len(_GENERATORS)]
        seconds = float(rng.uniform(3, 10))
        audio = _room(generate(rng, seconds), rng)
        fade = _seconds_to_samples(0.005)
        ramp = np.linspace(0, 1, fade)
        audio[:fade] *= ramp
        audio[-fade:] *= ramp[::-1]
        peak_db = rng.uniform(-6, -1)
        audio *= 10 ** (peak_db / 20) / max(np.max(np.abs(audio)), 1e-9)
        path = out_dir / f"{index:02d}_{name}.wav"
        write_audio(path, audio.astype(np.float32), SAMPLE_RATE, subtype="PCM_24")
        paths.append(path)
    return paths
