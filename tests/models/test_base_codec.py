"""The shipped base codec: fp16 safetensors round trip, damaged files, fitting a codec to it."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from factories import TINY_CODEC, repo_script

from sda.models.base_codec import (
    BaseCodecError,
    base_codec_path,
    check_fits,
    load_base_codec,
    save_base_codec,
    start_from_base,
)
from sda.models.codec import Codec, CodecConfig


def tiny(**changes) -> Codec:
    torch.manual_seed(0)
    return Codec(CodecConfig(**{**TINY_CODEC, **changes})).eval()


def test_round_trip_keeps_encoder_and_decoder_in_fp16(tmp_path):
    codec = tiny()
    path = save_base_codec(codec, tmp_path / "base.safetensors", steps="12")
    loaded, metadata = load_base_codec(path)
    assert metadata["steps"] == "12" and loaded.config == codec.config
    for part in ("encoder", "decoder"):
        for key, value in getattr(codec, part).state_dict().items():
            again = getattr(loaded, part).state_dict()[key]
            torch.testing.assert_close(again, value.half().float())
    audio = torch.randn(1, 4800) * 0.1
    latents = codec.encode_latents(audio)
    # fp16 weights decode what the fp32 ones did, to within fp16 rounding
    torch.testing.assert_close(
        loaded.decode_latents(latents), codec.decode_latents(latents), atol=2e-3, rtol=2e-2
    )
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a safetensors file at all", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "],
)
def test_damaged_or_missing_files_say_what_to_do(tmp_path, damage):
    path = tmp_path / "base.safetensors"
    path.write_bytes(damage)
    with pytest.raises(BaseCodecError, match="init_from=none"):
        load_base_codec(path)
    with pytest.raises(BaseCodecError, match="not installed"):
        load_base_codec(tmp_path / "absent.safetensors")


def test_a_truncated_file_is_refused(tmp_path):
    path = save_base_codec(tiny(), tmp_path / "base.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BaseCodecError, match="cannot be read|damaged"):
        load_base_codec(path)


def test_fits_any_codebook_but_refuses_other_architectures():
    base = CodecConfig(**TINY_CODEC)
    check_fits(base, replace(base, codebook_size=128, ema_decay=0.9))
    with pytest.raises(BaseCodecError, match="decoder_dim: 32 vs 48"):
        check_fits(base, replace(base, decoder_dim=48))


def test_start_from_base_copies_encoder_and_decoder_only():
    base, fresh = tiny(), tiny(codebook_size=16)
    torch.manual_seed(1)
    fresh = Codec(CodecConfig(**{**TINY_CODEC, "codebook_size": 16}))
    start_from_base(fresh, base)
    for part in ("encoder", "decoder"):
        for key, value in getattr(base, part).state_dict().items():
            assert torch.equal(getattr(fresh, part).state_dict()[key], value)
    assert not fresh.quantizer.initialized  # codebooks are seeded on the user's audio
    with pytest.raises(BaseCodecError):
        start_from_base(tiny(decoder_blocks=2), base)


def test_a_base_without_fine_time_starts_a_codec_that_adds_them_unchanged():
    base = tiny()
    torch.manual_seed(1)
    wider = Codec(CodecConfig(**{**TINY_CODEC, "fine_time_bands": 4}))
    start_from_base(wider, base)
    audio = torch.randn(2, 8192) * 0.1
    # the new inputs start silent: the widened encoder computes what the base's does
    assert torch.allclose(wider.encode_latents(audio), base.encode_latents(audio), atol=1e-5)
    # the other way round (a base reading envelopes, a codec that does not) is refused
    with pytest.raises(BaseCodecError, match="fine_time_bands: 4 vs 0"):
        start_from_base(base, wider)


def test_the_shipped_base_loads_and_fits_the_laptop_recipe():
    from hydra.utils import instantiate

    from sda.training.train_codec import compose_config

    path = base_codec_path()
    assert path.is_file(), "sda/assets/base_codec.safetensors is package data: rebuild it"
    assert path.stat().st_size <= 15e6
    base, metadata = load_base_codec()
    assert int(metadata["steps"]) > 0
    wanted = instantiate(
        compose_config(["recipe=cpu", "data.dir=x"]).model, codebook_size=64, channels=2
    )  # a stereo codec starts from the mono base too
    check_fits(base.config, wanted)


ALLOWED_PACKAGES = {
    "sonic-pi-samples",
    "lmms-common",
    "warzone2100-music",
    "supertuxkart-data",
    "openttd-opensfx",
    "fluid-soundfont-gm",
}


def test_the_corpus_manifest_names_only_the_allowed_packages_with_licences():
    import json

    manifest = json.loads((base_codec_path().parent / "base_corpus.json").read_text())
    packages = {entry["package"]: entry for entry in manifest["packages"]}
    assert set(packages) <= ALLOWED_PACKAGES
    for entry in packages.values():
        if entry["files"]:  # a package that could not be had is listed with a note, no files
            assert entry["version"] and entry["licences"] and entry["seconds"] > 0
    assert manifest["seconds"] == pytest.approx(sum(e["seconds"] for e in packages.values()), 0.1)


def test_the_corpus_script_reports_a_missing_package_and_goes_on(tmp_path, capsys, monkeypatch):
    corpus = repo_script("scripts/base_corpus.py", monkeypatch)
    assert corpus.unpack("no-such-sda-package-xyz", tmp_path) is None
    assert "no-such-sda-package-xyz: apt-get download failed" in capsys.readouterr().out


def test_going_on_from_the_shipped_base_trains_both_halves_and_counts_every_step(monkeypatch):
    from argparse import Namespace

    from sda.training.train_codec import compose_config

    script = repo_script("scripts/train_base_codec.py", monkeypatch)
    args = Namespace(
        hours=1.5, recipe="cpu", corpus="/corpus", output_dir="/out", override=[],
        from_shipped=True,
    )  # fmt: skip
    cfg = compose_config(script.overrides(args))
    assert (cfg.name, cfg.init_from) == ("base-continued", "base")
    assert cfg.training.freeze_encoder is False
    assert cfg.trainer.max_time == "00:01:30:00"
    # every 1,000 steps kept: the gate (experiments/bench_base_gate.py) chooses among them
    kept = cfg.callbacks.model_checkpoint
    assert (kept.save_top_k, kept.every_n_train_steps) == (-1, 1000)
    fresh = compose_config(script.overrides(Namespace(**{**vars(args), "from_shipped": False})))
    assert (fresh.name, fresh.init_from) == ("base", "none")
    shipped = {"source": "base", "steps": "5069"}
    assert script.steps_in_all({"global_step": 100, "hyper_parameters": {}}) == 100
    went_on = {"global_step": 100, "hyper_parameters": {"init_from": shipped}}
    assert script.steps_in_all(went_on) == 5169
    grown = {"global_step": 100, "hyper_parameters": {"init_from": {"source": "/some/run"}}}
    assert script.steps_in_all(grown) == 100
