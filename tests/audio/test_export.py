"""export_audio: formats x bit depths x rates, resampling quality, dither, loudness, layouts, bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from sda.audio.export import (
    FORMATS,
    ExportError,
    export_audio,
    quantise,
    safe_filename,
    true_peak_db,
    unique_path,
)
from sda.audio.stereo_field import measure_width
from sda.audio.tags import TagError, read_tags

RATE = 48_000


def _tone(seconds=0.5, freq=997.0, amp=0.5):
    return amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# --- every format x bit depth x rate -------------------------------------------------------------

COMBOS = [
    (name, depth, rate)
    for name, spec in FORMATS.items()
    for depth in spec.subtypes
    for rate in spec.rates
]


@pytest.mark.parametrize(("fmt", "depth", "rate"), COMBOS, ids=lambda v: str(v))
def test_every_format_depth_and_rate_writes_a_readable_file(tmp_path, fmt, depth, rate):
    audio = _tone()
    path = export_audio(audio, tmp_path / "take", format=fmt, bit_depth=depth, sample_rate=rate)
    assert path.name == "take" + FORMATS[fmt].extension
    info = sf.info(path)
    assert info.samplerate == rate and info.channels == 1
    back, _ = sf.read(path, dtype="float64")
    expected = round(len(audio) * rate / RATE)
    if FORMATS[fmt].lossless:
        assert len(back) == expected
    else:  # codecs pad to whole frames
        assert expected <= len(back) <= expected + 4096
    # the tone survives: its level within 1 dB
    level = 20 * np.log10(np.sqrt(np.mean(back[len(back) // 4 : 3 * len(back) // 4] ** 2)))
    assert level == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=1.0)
    assert read_tags(path)["software"].startswith("sda ")
    assert _files(tmp_path) == [path.name]  # no temp file left over


@pytest.mark.parametrize(("fmt", "depth"), [("wav", 16), ("wav", 24), ("flac", 16), ("flac", 24)])
def test_lossless_round_trip_is_exact_within_quantisation(tmp_path, fmt, depth):
    audio = np.stack([_tone(), _tone(freq=1500.0, amp=0.25)])
    path = export_audio(
        audio, tmp_path / "x", format=fmt, bit_depth=depth, channels="stereo", dither=False
    )
    stored, _ = sf.read(path, dtype="int32")
    codes = quantise(audio, depth, dither=False) << (32 - depth)
    np.testing.assert_array_equal(stored.T, codes)
    back, _ = sf.read(path, dtype="float64")
    assert np.max(np.abs(back.T - audio)) <= 0.5 / 2 ** (depth - 1) + 1e-12
    dithered = export_audio(audio, tmp_path / "d", format=fmt, bit_depth=depth, channels="stereo")
    back, _ = sf.read(dithered, dtype="float64")
    assert np.max(np.abs(back.T - audio)) <= 1.5 / 2 ** (depth - 1) + 1e-12


def test_float_wav_is_bit_exact(tmp_path):
    audio = _tone() * 1.5  # float keeps overs
    back, _ = sf.read(export_audio(audio, tmp_path / "f.wav", bit_depth=32), dtype="float32")
    np.testing.assert_array_equal(back, audio.astype(np.float32))


def test_tpdf_dither_keeps_signal_below_one_lsb():
    quiet = _tone(amp=0.4 / 32768)  # 0.4 LSB: plain rounding turns it into silence
    assert not quantise(quiet[None], 16, dither=False).any()
    codes = quantise(quiet[None], 16)[0]
    assert set(np.unique(codes)) <= {-2, -1, 0, 1, 2}
    # the dithered output still carries the tone (correlation), and the noise is TPDF: mean 0
    assert np.corrcoef(codes, quiet)[0, 1] > 0.1
    noise = quantise(np.zeros((1, 100_000)), 16)[0]
    # TPDF (1/6 LSB^2) plus rounding (1/12 LSB^2): total 1/4 LSB^2, independent of the signal
    assert abs(noise.mean()) < 0.02 and 0.23 < noise.var() < 0.27


# --- resampling ----------------------------------------------------------------------------------


def _aliased_energy_db(resampled: np.ndarray, seconds: float, top: float, rate_out: int) -> float:
    """Energy away from a linear sweep's instantaneous frequency, relative to all energy."""
    n, hop = 2048, 512
    f, t, z = signal.stft(
        resampled, rate_out, window=signal.windows.kaiser(n, 20), nperseg=n,
        noverlap=n - hop, boundary=None, padded=False,
    )  # fmt: skip
    power = np.abs(z) ** 2
    instantaneous = top * t / seconds
    legit = (np.abs(f[:, None] - instantaneous[None, :]) < 400) & (instantaneous < rate_out / 2)
    return 10 * np.log10(power[~legit].sum() / power.sum())


def test_48_to_44k1_leaves_less_than_minus_90_db_aliasing(tmp_path):
    seconds, top = 4.0, 24_000.0
    t = np.arange(int(seconds * RATE)) / RATE
    sweep = 0.5 * np.sin(np.pi * top * t**2 / seconds)  # linear sweep 0 -> 24 kHz
    path = export_audio(sweep, tmp_path / "sweep.wav", bit_depth=32, sample_rate=44_100)
    out, rate = sf.read(path, dtype="float64")
    assert rate == 44_100
    assert _aliased_energy_db(out, seconds, top, 44_100) < -90
    # the measurement can see aliasing: a short default filter fails it
    naive = signal.resample_poly(sweep, 147, 160)
    assert _aliased_energy_db(naive, seconds, top, 44_100) > -90


def test_resampling_keeps_the_passband_and_length():
    from sda.audio.dsp import resample  # the one resampler: reading files and exporting

    tone = _tone(freq=15_000.0)
    for rate in (44_100, 88_200, 96_000):
        out = resample(tone[None], RATE, rate)[0]
        assert len(out) == round(len(tone) * rate / RATE)
        middle = out[len(out) // 4 : 3 * len(out) // 4]
        assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


# --- loudness ------------------------------------------------------------------------------------


def test_loudness_normalisation_hits_target_and_respects_true_peak(tmp_path):
    from sda.audio.dsp import loudness_lufs

    noise = 0.05 * np.random.default_rng(0).standard_normal(2 * RATE)
    path = export_audio(noise, tmp_path / "n.wav", bit_depth=32, lufs=-23.0)
    back, _ = sf.read(path, dtype="float64")
    assert loudness_lufs(back, RATE) == pytest.approx(-23.0, abs=0.3)
    # a peaky sound cannot reach -6 LUFS under a -1 dBTP ceiling: the ceiling wins
    clicks = np.zeros(2 * RATE)
    clicks[:: RATE // 10] = 0.5
    path = export_audio(clicks, tmp_path / "c.wav", bit_depth=32, lufs=-6.0)
    back, _ = sf.read(path, dtype="float64")
    assert true_peak_db(back[None]) <= -1.0 + 0.05
    assert loudness_lufs(back, RATE) < -6.0


# --- layouts -------------------------------------------------------------------------------------


def test_stereo_and_binaural_layouts(tmp_path):
    mono = 0.2 * np.random.default_rng(1).standard_normal(RATE)
    stereo = export_audio(mono, tmp_path / "s.wav", channels="stereo", bit_depth=32, width=0.7)
    back, _ = sf.read(stereo, dtype="float64")
    # mono-compatible: the downmix is the take (turned down as a whole if L or R would clip)
    gain = np.dot(back.mean(axis=1), mono) / np.dot(mono, mono)
    assert 0.5 < gain <= 1.0 and np.abs(back).max() <= 1.0
    np.testing.assert_allclose(back.mean(axis=1), gain * mono, atol=1e-6)
    assert measure_width(back.T) == pytest.approx(0.7 / (2 - 0.7), rel=0.05)  # one width
    right = export_audio(mono, tmp_path / "r.flac", format="flac", channels="stereo", azimuth=90)
    back, _ = sf.read(right)
    assert np.mean(back[:, 1] ** 2) > 100 * np.mean(back[:, 0] ** 2)
    binaural = export_audio(mono, tmp_path / "b.wav", channels="binaural", azimuth=90.0)
    back, _ = sf.read(binaural)
    assert back.shape == (RATE, 2) and np.mean(back[:, 1] ** 2) > np.mean(back[:, 0] ** 2)
    moving = export_audio(
        mono, tmp_path / "m.wav", channels="binaural", motion=[(0, -90, 0), (1, 90, 0)]
    )
    assert sf.info(moving).channels == 2
    down = export_audio(np.stack([mono, -mono]), tmp_path / "mono.wav", bit_depth=32)
    assert sf.info(down).channels == 1


# --- names ---------------------------------------------------------------------------------------


def test_safe_filename():
    assert safe_filename("drone: take 1/2?.wav") == "drone_ take 1_2_.wav"
    assert safe_filename("../../etc/passwd") == "_.._etc_passwd"
    assert safe_filename("  ..hidden  ") == "hidden"
    assert safe_filename("CON.wav") == "_CON.wav"
    assert safe_filename("") == "untitled"
    assert safe_filename("bell\x00\n\tsound") == "bell sound"
    long = safe_filename("é" * 300 + ".flac")
    assert long.endswith(".flac") and len(long.encode()) <= 150


def test_names_are_sanitised_and_never_overwritten(tmp_path):
    path = export_audio(_tone(), tmp_path / "my:take?")
    assert path == tmp_path / "my_take_.wav"
    before = path.read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export_audio(_tone(amp=0.1), path)
    assert path.read_bytes() == before and _files(tmp_path) == [path.name]
    export_audio(_tone(amp=0.1), path, overwrite=True)
    assert path.read_bytes() != before
    free = unique_path(path)
    assert free.name == "my_take_-2.wav"
    export_audio(_tone(), free)
    assert unique_path(path).name == "my_take_-3.wav"


# --- bad input: one clear message, no file left ---------------------------------------------------

BAD = [
    ({"format": "aac"}, "Unknown format"),
    ({"format": "mp3", "sample_rate": 96_000}, "mp3 cannot be written at 96000 Hz"),
    ({"format": "opus", "sample_rate": 44_100}, "opus cannot be written at 44100 Hz"),
    ({"sample_rate": 22_050}, "cannot be written at 22050"),
    ({"format": "flac", "bit_depth": 32}, "flac cannot store 32-bit"),
    ({"format": "wav", "bit_depth": 8}, "cannot store 8-bit"),
    ({"format": "ogg", "bit_depth": 16}, "lossy and has no bit depth"),
    ({"channels": "5.1"}, "Unknown channel layout"),
    ({"lufs": 6.0}, "Loudness target"),
    ({"channels": "stereo", "width": 3.0}, "width"),
    ({"motion": [(0, 0, 0), (1, 90, 0)]}, "binaural channel layout"),
    ({"sample_rate_in": 0}, "Input sample rate"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_audio(_tone(), tmp_path / "x", **kwargs)
    assert _files(tmp_path) == []


def test_bad_audio_and_paths(tmp_path):
    with pytest.raises(ExportError, match="NaN"):
        export_audio(np.full(100, np.nan), tmp_path / "nan.wav")
    with pytest.raises(ExportError, match="Nothing to export"):
        export_audio(np.zeros(0), tmp_path / "empty.wav")
    with pytest.raises(ExportError, match="ends in .mp3 but the format is wav"):
        export_audio(_tone(), tmp_path / "x.mp3")
    with pytest.raises(ExportError, match="does not exist"):
        export_audio(_tone(), tmp_path / "missing" / "x.wav")
    assert _files(tmp_path) == []


def test_bad_sofa_file(tmp_path):
    bogus = tmp_path / "head.sofa"
    bogus.write_text("not a sofa")
    with pytest.raises(ExportError, match="not a readable SOFA file"):
        export_audio(_tone(), tmp_path / "b.wav", channels="binaural", hrtf=bogus)
    assert _files(tmp_path) == ["head.sofa"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="read-only"):
            export_audio(_tone(), folder / "x.wav")
    finally:
        folder.chmod(0o700)
    assert _files(folder) == []


def test_folder_refusing_writes_leaves_nothing(tmp_path, monkeypatch):
    """What a read-only folder does even to root: the temp file cannot be created."""
    from sda.audio import io

    real_open = os.open

    def refuse(path, flags, *args):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(io.os, "open", refuse)
    with pytest.raises(ExportError, match="cannot write in .*Permission denied"):
        export_audio(_tone(), tmp_path / "x.wav")
    assert _files(tmp_path) == []


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    from sda.audio import tags as tag_module

    def broken(path, tags):
        raise TagError("disk full")

    monkeypatch.setattr(tag_module, "write_tags", broken)
    with pytest.raises(ExportError, match="nothing was saved"):
        export_audio(_tone(), tmp_path / "x.flac", format="flac")
    assert _files(tmp_path) == []


def test_long_ogg_export_survives_libvorbis_stack_limit(tmp_path):
    """One 60 s write used to crash the process inside libvorbis; blocks keep it alive."""
    noise = 0.1 * np.random.default_rng(0).standard_normal(90 * RATE)
    path = export_audio(noise, tmp_path / "long.ogg", format="ogg")
    assert sf.info(path).frames >= 90 * RATE
