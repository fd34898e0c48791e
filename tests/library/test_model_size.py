"""Model configs too big to build are refused from their fields alone, naming the key."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict

import pytest

from sda.library import BundleError, load_bundle
from sda.library.bundle import CONFIG_FILE
from sda.library.model_size import (
    MAX_PARAMETERS,
    ModelSizeError,
    check_model_config,
    codec_parameters,
    prior_parameters,
)


def _count(model) -> int:
    return sum(tensor.numel() for tensor in model.state_dict().values())


def test_the_estimate_matches_real_models(tiny_models):
    from sda.models.codec import Codec, CodecConfig

    codec, prior = tiny_models
    default = Codec(CodecConfig())
    for model, estimate in ((codec, codec_parameters), (default, codec_parameters)):
        assert estimate(asdict(model.config)) == pytest.approx(_count(model), rel=0.05)
    assert prior_parameters(asdict(prior.config)) == pytest.approx(_count(prior), rel=0.05)


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("codec", {"encoder_dim": 16_000, "encoder_blocks": 200}, "largest setting is encoder_"),
        ("codec", {"codebook_size": 1 << 20, "num_levels": 64}, "parameters, over the cap"),
        ("prior", {"dim": 16_000, "layers": 100}, "largest setting is"),
        ("codec", {"encoder_dim": 10**9}, "encoder_dim must be a whole number in 1..16384"),
        ("codec", {"latent_dim": "abc"}, "latent_dim must be a whole number"),
        ("codec", {"mlp_ratio": float("inf")}, "mlp_ratio must be a number"),
        ("prior", {"context_frames": True}, "context_frames must be a whole number"),
        ("prior", {"layers": -3}, "layers must be a whole number"),
    ],
)
def test_absurd_sizes_are_refused_naming_the_key(tiny_models, kind, changes, message):
    model = tiny_models[0 if kind == "codec" else 1]
    config = {**asdict(model.config), **changes}
    with pytest.raises(ModelSizeError, match=message):
        check_model_config(kind, config, "config.json")


def test_real_configs_pass(tiny_models):
    codec, prior = tiny_models
    assert check_model_config("codec", asdict(codec.config), "x") < MAX_PARAMETERS
    assert check_model_config("prior", asdict(prior.config), "x") < MAX_PARAMETERS


def test_a_bundle_asking_for_a_huge_codec_is_refused_before_building(
    tiny_bundle, tmp_path, monkeypatch
):
    import sda.models.codec

    folder = shutil.copytree(tiny_bundle.path, tmp_path / "huge")
    config = json.loads((folder / CONFIG_FILE).read_text())
    config["codec"].update(encoder_dim=16_384, decoder_dim=16_384, encoder_blocks=64)
    (folder / CONFIG_FILE).write_text(json.dumps(config))

    def never(*args, **kwargs):
        raise AssertionError("the codec was built")

    monkeypatch.setattr(sda.models.codec.Codec, "__init__", never)
    with pytest.raises(BundleError, match=r"config.json: the codec config asks for ~\d"):
        load_bundle(folder)
