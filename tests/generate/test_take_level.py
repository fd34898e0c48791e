"""Takes at the material's level: the prior records its training files' level, `render` applies it."""

import factories
import numpy as np
import pytest

from sda.dna.decode import decode_codes
from sda.generate import generate, render
from sda.generate.render import (
    MATERIAL_LEVEL_KEY,
    PEAK_CEILING,
    SILENCE_DBFS,
    material_gain_db,
    material_peak_dbfs,
)
from sda.library.bundle import Bundle

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def peak_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(audio).max()))


def with_level(bundle: Bundle, peak_dbfs: float) -> Bundle:
    """`bundle` as if its prior had recorded the material's median peak `peak_dbfs`."""
    level = {"peak_dbfs": peak_dbfs, "rms_dbfs": peak_dbfs - 12.0, "files": 6}
    stats = {**bundle.descriptor_stats, MATERIAL_LEVEL_KEY: level}
    meta = {**bundle.meta, "descriptor_stats": stats}
    return Bundle(
        path=None, meta=meta, config=bundle.config, codec=bundle.codec, prior=bundle.prior
    )


@pytest.fixture(scope="module")
def take(tiny_prior_bundle):
    return generate(tiny_prior_bundle, seconds=0.4, seed=2).codes


def test_the_prior_records_the_level_of_the_original_files_only(tiny_bundle, tmp_path):
    from sda.audio.io import load_audio
    from sda.training.prior_data import PriorDataModule
    from sda.training.prior_variants import variants

    paths = factories.write_tiny_audio(tmp_path / "audio")
    data = PriorDataModule(
        codec=tiny_bundle.codec, dir=tmp_path / "audio", context_frames=64, pad=32, shifts=1,
        cache_dir=tmp_path / "cache", variants=variants([], [0.0, -10.0]),
    )  # fmt: skip
    data.setup()
    assert len(data.files) == 2 * len(paths)  # the -10 dB copies were made...
    sounds = [load_audio(p, sample_rate=factories.SAMPLE_RATE, channels=1)[0] for p in paths]
    level = data.stats_record()[MATERIAL_LEVEL_KEY]  # ...but only the originals are measured
    assert level["files"] == len(paths)
    assert level["peak_dbfs"] == pytest.approx(np.median([peak_db(s) for s in sounds]), abs=0.01)
    rms = [10 * np.log10(np.mean(np.square(s, dtype=np.float64))) for s in sounds]
    assert level["rms_dbfs"] == pytest.approx(np.median(rms), abs=0.01)
    assert material_peak_dbfs(with_level(tiny_bundle, level["peak_dbfs"])) == level["peak_dbfs"]


def test_a_quiet_take_is_brought_to_the_materials_peak(tiny_prior_bundle, take):
    plain = decode_codes(tiny_prior_bundle.codec, take)
    target = min(peak_db(plain) + 12.0, -3.0)  # the material is well above this take
    assert peak_db(plain) < target - 3.0
    audio = render(with_level(tiny_prior_bundle, target), take)
    assert peak_db(audio) == pytest.approx(target, abs=0.5)
    ratio = audio[np.abs(plain) > 1e-3] / plain[np.abs(plain) > 1e-3]
    assert np.allclose(ratio, ratio[0], rtol=1e-4)  # one gain: the take keeps its dynamics
    louder = render(with_level(tiny_prior_bundle, peak_db(plain) - 6.0), take)
    assert peak_db(louder) == pytest.approx(peak_db(plain) - 6.0, abs=0.5)  # works both ways


def test_a_loudness_control_wins_over_the_materials_level(tiny_prior_bundle, take):
    leveled = with_level(tiny_prior_bundle, -3.0)
    for loudness in (0.3, [0.2, 0.6]):
        controls = {"loudness": loudness}
        np.testing.assert_array_equal(
            render(leveled, take, controls), render(tiny_prior_bundle, take, controls)
        )


def test_a_bundle_without_the_level_renders_as_before(tiny_prior_bundle, take):
    plain = decode_codes(tiny_prior_bundle.codec, take)
    assert material_peak_dbfs(tiny_prior_bundle) is None
    np.testing.assert_array_equal(render(tiny_prior_bundle, take), plain)
    # density is not a level or tone control: the render leaves it to the prior (a take with
    # no codes of silence: where it has them, its spans are released into them)
    sounding = factories.without_rests(tiny_prior_bundle, take)
    as_decoded = decode_codes(tiny_prior_bundle.codec, sounding)
    np.testing.assert_array_equal(render(tiny_prior_bundle, sounding, {"density": 0.2}), as_decoded)
    codec = tiny_prior_bundle.codec
    broken = {**tiny_prior_bundle.descriptor_stats, MATERIAL_LEVEL_KEY: {"peak_dbfs": None}}
    assert material_peak_dbfs(Bundle(None, {"descriptor_stats": broken}, {}, codec)) is None
    assert material_peak_dbfs(Bundle(None, {}, {}, codec)) is None


def test_a_silent_take_stays_silent(tiny_prior_bundle, take):
    plain = decode_codes(tiny_prior_bundle.codec, take)
    hiss = plain * np.float32(10 ** ((SILENCE_DBFS - 10.0) / 20.0) / np.abs(plain).max())
    assert material_gain_db(hiss, -6.0) == 0.0
    assert material_gain_db(np.zeros_like(plain), -6.0) == 0.0
    assert material_gain_db(np.zeros(0, np.float32), -6.0) == 0.0


def test_the_gain_respects_the_peak_ceiling_and_its_cap(tiny_prior_bundle, take):
    plain = decode_codes(tiny_prior_bundle.codec, take)
    capped = min(PEAK_CEILING, float(np.abs(plain).max()) * 10 ** (24.0 / 20.0))
    for material in (0.0, 6.0):  # a material at or above full scale still leaves -1 dBFS free
        audio = render(with_level(tiny_prior_bundle, material), take)
        assert np.abs(audio).max() <= PEAK_CEILING + 1e-6
        assert np.abs(audio).max() == pytest.approx(capped, rel=1e-3)
    ceiling_db = 20 * np.log10(PEAK_CEILING)
    loud = plain * np.float32(10 ** (-10.0 / 20.0) / np.abs(plain).max())  # peak -10 dBFS
    assert material_gain_db(loud, 3.0) == pytest.approx(ceiling_db + 10.0, abs=1e-3)
    faint = plain * np.float32(10 ** (-60.0 / 20.0) / np.abs(plain).max())  # peak -60 dBFS
    assert material_gain_db(faint, -6.0) == pytest.approx(24.0)  # +24 dB at most
