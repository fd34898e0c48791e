"""Varispeed and gain copies of the prior's training audio (sda.training.prior_variants)."""

import numpy as np
import pytest

from sda.errors import SdaError
from sda.training.prior_data import PriorDataModule, variant_limits
from sda.training.prior_variants import Variant, variants

RATE = 48_000


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / RATE)[spectrum.argmax()])


def test_every_speed_at_every_gain_with_the_original_first_and_once():
    found = variants([1.0, 1.06, 0.94], [0.0, -10.0])
    assert found[0] == Variant() and found[0].is_original
    assert len(found) == 6 and len(set(found)) == 6
    assert {round(v.speed, 2) for v in found} == {0.94, 1.0, 1.06}
    assert {v.gain_db for v in found} == {0.0, -10.0}
    assert variants([], []) == [Variant()]
    original, faster = variants([1.06], [])  # the original is always kept
    assert original == Variant() and faster.speed == pytest.approx(1.06, abs=0.01)


@pytest.mark.parametrize(("speeds", "gains"), [([3.0], [0.0]), ([1.0], [-80.0]), ([0.1], [])])
def test_out_of_range_settings_are_refused(speeds, gains):
    with pytest.raises(SdaError, match="prior_data"):
        variants(speeds, gains)


def test_a_faster_copy_is_shorter_and_higher_and_a_quieter_copy_quieter():
    t = np.arange(RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)
    fast = next(v for v in variants([1.06], []) if not v.is_original)
    sped = fast.apply(tone)
    assert len(sped) == pytest.approx(len(tone) / fast.speed, abs=2)
    assert peak_hz(sped) == pytest.approx(1000.0 * fast.speed, abs=3.0)
    quiet = Variant(gain_db=-10.0).apply(tone)
    ratio_db = 20 * np.log10(np.sqrt(np.mean(quiet**2)) / np.sqrt(np.mean(tone**2)))
    assert ratio_db == pytest.approx(-10.0, abs=0.01)


def test_originals_keep_their_cache_key_and_copies_get_their_own():
    assert Variant().key == ""
    loud = np.full(8, 1.5, np.float32)  # a float file may exceed full scale
    assert Variant().apply(loud) is loud  # the original is encoded as it was, so its key still fits
    keys = {v.key for v in variants([0.94, 1.0, 1.06], [0.0, -10.0])}
    assert len(keys) == 6


def test_a_copy_holds_out_the_same_part_as_its_original():
    # original 0 (1000 frames, 900 train) has a faster copy of 940 frames; original 1 trains whole
    limits = variant_limits([1000, 940, 300, 282], [0, 0, 1, 1], [1000, 300], [900, 300])
    assert limits == [900, 846, 300, 282]


def test_the_data_module_encodes_copies_and_validates_on_originals_only(tiny_models, tmp_path):
    from sda.audio.io import write_audio

    codec, prior = tiny_models
    t = np.arange(3 * RATE) / RATE
    for index, freq in enumerate((300.0, 600.0)):
        write_audio(
            tmp_path / "audio" / f"tone{index}.wav",
            (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32),
            RATE,
        )
    copies = variants([1.06], [-10.0])
    data = PriorDataModule(
        codec=codec, dir=tmp_path / "audio", context_frames=prior.config.context_frames,
        pad=prior.config.pad_token, shifts=1, cache_dir=tmp_path / "cache", variants=copies,
        val_fraction=0.2,
    )  # fmt: skip
    data.setup()
    assert len(data.files) == 2 * len(copies)
    originals = {0, len(copies)}
    assert data.val_windows and {number for number, _, _ in data.val_windows} <= originals
    original, quiet_fast = data.files[0], data.files[len(copies) - 1]
    assert quiet_fast.frames < original.frames
    # the copies' descriptors are their own: brighter and quieter than the original
    assert quiet_fast.track[:, 0].mean() > original.track[:, 0].mean()
    assert quiet_fast.track[:, 5].mean() == pytest.approx(original.track[:, 5].mean() - 10, abs=1)
    held_out = [limit / file.frames for file, limit in zip(data.files, data.limits, strict=True)]
    assert max(held_out) - min(held_out) < 0.02  # every copy holds out the same share


def test_batched_shift_encoding_gives_the_codes_of_each_shift_alone(tiny_models, monkeypatch):
    import torch

    from sda.training import prior_data

    codec, _ = tiny_models
    codec.eval()
    spf = codec.config.samples_per_frame
    monkeypatch.setattr(prior_data, "ENCODE_CHUNK_SECONDS", 4 * spf / RATE)  # several chunks
    audio = (np.random.default_rng(0).uniform(-0.5, 0.5, 23 * spf + 37)).astype(np.float32)
    offsets = [0, spf // 4, spf // 2, 3 * spf // 4]
    batched = prior_data._encode(codec, audio, offsets)
    for offset, codes in zip(offsets, batched, strict=True):
        with torch.inference_mode():
            alone = [
                codec.encode(torch.from_numpy(audio[offset:][start : start + 4 * spf])[None])[0]
                for start in range(0, len(audio) - offset, 4 * spf)
            ]
        expected = torch.cat(alone, dim=1).numpy()
        assert codes.shape == expected.shape
        assert (codes == expected).mean() > 0.99  # batching may flip a rare tie, not the music


def test_a_long_recordings_copy_streams_through_a_scratch_file(tmp_path, monkeypatch):
    from sda.training import prior_data

    monkeypatch.setattr(prior_data, "LONG_COPY_SAMPLES", 1000)
    sound = np.random.default_rng(1).uniform(-0.9, 0.9, 3 * RATE + 11).astype(np.float32)
    copy = next(v for v in variants([1.06], [-3.0]) if not v.is_original)
    with prior_data.variant_audio(copy, sound, tmp_path) as streamed:
        assert isinstance(streamed, np.memmap)
        np.testing.assert_allclose(streamed, copy.apply(sound), atol=1e-6)
    assert list(tmp_path.iterdir()) == []  # the scratch file is gone


def test_material_level_reads_long_recordings_in_blocks():
    from sda.training.prior_data import material_level

    loud = np.full(3_000_000, 0.5, np.float32)
    quiet = np.full(10, 0.05, np.float32)
    level = material_level([loud, quiet, loud])
    assert level == {"peak_dbfs": pytest.approx(-6.02, abs=0.01), "rms_dbfs": -6.02, "files": 3}


def _two_tones(folder):
    from sda.audio.io import write_audio

    t = np.arange(3 * RATE) / RATE
    for index, freq in enumerate((300.0, 600.0)):
        tone = (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        write_audio(folder / f"tone{index}.wav", tone, RATE)
    return folder


def _prior_data(codec, prior, folder, cache, **kwargs):
    return PriorDataModule(
        codec=codec, dir=folder, context_frames=prior.config.context_frames,
        pad=prior.config.pad_token, shifts=2, cache_dir=cache, **kwargs,
    )  # fmt: skip


def test_an_interrupted_encoding_resumes_where_it_stopped(tiny_models, tmp_path, monkeypatch):
    from sda.training import prior_data

    codec, prior = tiny_models
    folder = _two_tones(tmp_path / "audio")
    real_encode, calls = prior_data._encode, []

    def encode_then_crash(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the run during the second recording
        return real_encode(*args)

    monkeypatch.setattr(prior_data, "_encode", encode_then_crash)
    with pytest.raises(KeyboardInterrupt):
        _prior_data(codec, prior, folder, tmp_path / "cache").setup()
    calls.clear()
    data = _prior_data(codec, prior, folder, tmp_path / "cache")
    data.setup()
    assert len(calls) == 1 and len(data.files) == 2  # only the unfinished recording again...
    calls.clear()
    _prior_data(codec, prior, folder, tmp_path / "cache").setup()
    assert calls == []  # ...and nothing once all is cached


def test_a_file_gone_before_the_prior_setup_is_left_out(tiny_models, tmp_path):
    codec, prior = tiny_models
    folder = _two_tones(tmp_path / "audio")
    data = _prior_data(codec, prior, folder, tmp_path / "cache", variants=variants([1.06], []))
    data.scan()
    (folder / "tone1.wav").unlink()
    data.setup()
    assert [entry.path.name for entry in data.lost] == ["tone1.wav"]
    assert len(data.files) == 2  # the remaining file and its copy
    assert data.level["files"] == 1
