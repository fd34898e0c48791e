"""Generation with a stereo model: stacked mid + side grids sampled, (2, samples) takes rendered."""

import numpy as np
import pytest

from sda.dna.stereo_bridge import decode_stereo, silent_side
from sda.generate import generate
from sda.generate.engine import check_models
from sda.generate.regenerate import regenerate_region
from sda.generate.render import PEAK_CEILING, set_level
from sda.generate.settings import GenerationError
from sda.generate.stereo_takes import prior_rows

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def stereo_take(tiny_stereo_bundle):
    return generate(tiny_stereo_bundle, seconds=0.5, seed=1)


def test_a_stereo_model_samples_mid_and_side_and_renders_two_channels(
    stereo_take, tiny_stereo_bundle
):
    codes = stereo_take.codes
    assert codes.channels == 2
    assert codes.levels == tiny_stereo_bundle.codec.config.num_levels
    assert codes.side_levels == tiny_stereo_bundle.side_levels + 1 == 3  # + direction
    assert stereo_take.channels == 2 and stereo_take.audio.shape == (2, stereo_take.samples)
    assert stereo_take.samples == codes.frames * tiny_stereo_bundle.codec.config.samples_per_frame
    decoded = decode_stereo(tiny_stereo_bundle, codes)
    left, right = stereo_take.audio
    assert not np.allclose(left, right)  # the side was generated, not silence
    # one gain for both channels: the take is the decoded sound, scaled
    gain = float(np.dot(stereo_take.audio.ravel(), decoded.ravel()) / np.sum(decoded**2))
    assert np.allclose(stereo_take.audio, gain * decoded, atol=1e-5)


def test_the_same_seed_gives_the_same_stereo_take(stereo_take, tiny_stereo_bundle):
    again = generate(tiny_stereo_bundle, seconds=0.5, seed=1)
    assert np.array_equal(again.codes.side_indices, stereo_take.codes.side_indices)
    assert np.array_equal(again.audio, stereo_take.audio)


def test_the_level_of_a_stereo_take_is_set_on_both_channels_alike(tiny_stereo_bundle):
    loud = np.stack([np.linspace(-1.5, 1.5, 4800), 0.1 * np.ones(4800)]).astype(np.float32)
    bundle = _with_material_peak(tiny_stereo_bundle, -3.0)
    out = set_level(bundle, loud)
    assert out.shape == (2, 4800)
    assert np.abs(out).max() == pytest.approx(min(10 ** (-3 / 20), PEAK_CEILING), rel=1e-4)
    assert out[1, 0] / loud[1, 0] == pytest.approx(out[0, -1] / loud[0, -1], rel=1e-5)
    shaped = set_level(tiny_stereo_bundle, loud, {"loudness": [0.2, 0.8]})
    ratio = shaped / np.where(loud == 0, 1, loud)
    assert np.allclose(ratio[0, 100:-100], ratio[1, 100:-100], rtol=1e-4)  # one envelope


def test_candidates_are_measured_on_the_mid(tiny_stereo_bundle, monkeypatch):
    codec = tiny_stereo_bundle.codec
    real, shapes = codec.decode, []
    monkeypatch.setattr(
        codec, "decode", lambda codes, **kw: shapes.append(codes.shape) or real(codes, **kw)
    )
    take = generate(
        tiny_stereo_bundle,
        seconds=0.4,
        seed=0,
        candidates=3,
        controls={"brightness": 0.9},
        halves=False,
    )
    assert take.audio.shape[0] == 2
    assert shapes[0][:2] == (3, codec.config.num_levels)  # the candidates' mid grids alone
    steps = take.codes.provenance["operations"]
    assert steps[-1]["candidates"]["count"] == 3


def test_a_stereo_prompt_continues_both_grids(stereo_take, tiny_stereo_bundle):
    continued = generate(
        tiny_stereo_bundle, seconds=0.3, seed=4, prompt=stereo_take.codes, include_prompt=True
    )
    frames = stereo_take.codes.frames
    assert continued.codes.channels == 2
    assert np.array_equal(continued.codes.indices[:, :frames], stereo_take.codes.indices)
    assert np.array_equal(continued.codes.side_indices[:, :frames], stereo_take.codes.side_indices)
    assert continued.audio.shape[0] == 2


def test_a_mono_prompt_counts_as_centred(stereo_take, tiny_stereo_bundle):
    mono = stereo_take.codes.mid
    rows = prior_rows(tiny_stereo_bundle, mono)
    levels = tiny_stereo_bundle.codec.config.num_levels
    assert rows.shape == (tiny_stereo_bundle.codec.config.grid_levels, mono.frames)
    assert np.array_equal(rows[:levels], mono.indices)
    silence = silent_side(tiny_stereo_bundle, mono, levels=3)  # the side of a centred sound
    assert np.array_equal(rows[levels:], silence.indices)
    continued = generate(tiny_stereo_bundle, seconds=0.2, seed=0, prompt=mono)
    assert continued.codes.channels == 2


def test_a_stereo_prompt_with_other_side_levels_is_refused(stereo_take, tiny_stereo_bundle):
    short = stereo_take.codes.with_side(stereo_take.codes.side_indices[:1])
    with pytest.raises(GenerationError, match="1 side levels, but the model's prior reads 3"):
        generate(tiny_stereo_bundle, seconds=0.2, prompt=short)


def test_a_stereo_prompt_is_refused_by_a_mono_model(stereo_take, tiny_prior_bundle):
    with pytest.raises(GenerationError):  # made by another model, and stereo: never decoded
        generate(tiny_prior_bundle, seconds=0.2, prompt=stereo_take.codes)


def test_a_mono_prior_on_a_stereo_codec_is_refused(tiny_stereo_bundle, tiny_models):
    from sda.library.bundle import Bundle

    mismatched = Bundle(
        path=None, meta={}, config=tiny_stereo_bundle.config, codec=tiny_stereo_bundle.codec,
        prior=_with_fingerprint(tiny_models[1], tiny_stereo_bundle.id),
    )  # fmt: skip
    with pytest.raises(GenerationError, match="mid \\+ side levels"):
        check_models(mismatched)


def test_a_region_of_a_stereo_take_is_regenerated_in_both_grids(stereo_take, tiny_stereo_bundle):
    codes = stereo_take.codes
    start, end = 4, 12
    # hotter than plain: the tiny prior is sure enough of itself to redraw the same cells
    new = regenerate_region(
        tiny_stereo_bundle, codes, start, end, seed=3, candidates=2, temperature=1.5
    )
    assert new.channels == 2 and new.side_levels == codes.side_levels
    keep = np.r_[0:start, end : codes.frames]
    assert np.array_equal(new.indices[:, keep], codes.indices[:, keep])
    assert np.array_equal(new.side_indices[:, keep], codes.side_indices[:, keep])
    changed = np.any(new.indices[:, start:end] != codes.indices[:, start:end]) or np.any(
        new.side_indices[:, start:end] != codes.side_indices[:, start:end]
    )
    assert changed
    assert new.provenance["operations"][-1]["op"] == "regenerate"


def _with_material_peak(bundle, peak_dbfs: float):
    from sda.generate.render import MATERIAL_LEVEL_KEY
    from sda.library.bundle import Bundle

    stats = {**bundle.descriptor_stats, MATERIAL_LEVEL_KEY: {"peak_dbfs": peak_dbfs}}
    return Bundle(
        path=None, meta={**bundle.meta, "descriptor_stats": stats}, config=bundle.config,
        codec=bundle.codec, prior=bundle.prior,
    )  # fmt: skip


def _with_fingerprint(prior, fingerprint: str):
    import copy
    from dataclasses import replace

    from sda.models.prior import Prior

    twin = Prior(replace(prior.config, codec_fingerprint=fingerprint))
    twin.load_state_dict(copy.deepcopy(prior.state_dict()))
    return twin.eval()
