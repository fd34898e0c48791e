"""From the base codec, `sda-train` fine-tunes the decoder alone (training.freeze_encoder=null)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from test_base_finetune import laptop_config
from test_codec_training import checkpoint, make_sounds

from sda.models.base_codec import load_base_codec
from sda.training.train_codec import train


def moved(run: Path, reference: dict[str, torch.Tensor], part: str) -> bool:
    """Whether any weight of `part` ("encoder" or "decoder") differs from `reference`."""
    state = checkpoint(run)["state_dict"]
    return any(
        not torch.equal(state[f"codec.{name}"], tensor)
        for name, tensor in reference.items()
        if name.startswith(f"{part}.")
    )


def test_from_the_base_only_the_decoder_learns_also_after_a_resume(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sda")
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=2", "name=frozen"))
    assert "fine-tuning the decoder" in caplog.text
    assert moved(run, base, "decoder") and not moved(run, base, "encoder")
    resumed = train(laptop_config(tmp_path, data, "trainer.max_steps=3", "name=frozen"))
    assert checkpoint(resumed)["global_step"] == 3
    assert checkpoint(resumed)["hyper_parameters"]["init_from"]["source"] == "base"
    assert not moved(resumed, base, "encoder")


def test_freeze_encoder_false_trains_the_encoder_from_the_base(tmp_path):
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    run = train(
        laptop_config(tmp_path, data, "trainer.max_steps=2", "training.freeze_encoder=false")
    )
    assert moved(run, base, "encoder")


def test_a_run_that_fell_back_to_scratch_trains_its_encoder(tmp_path, monkeypatch):
    import sda.models.base_codec as base_codec

    base = load_base_codec()[0].state_dict()
    monkeypatch.setattr(base_codec, "base_codec_path", lambda: tmp_path / "absent.safetensors")
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    first = train(laptop_config(tmp_path, data, "trainer.max_steps=1", "name=scratch"))
    start = {k: v.clone() for k, v in checkpoint(first)["state_dict"].items()}
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=3", "name=scratch"))
    start = {k.removeprefix("codec."): v for k, v in start.items() if k.startswith("codec.")}
    assert moved(run, start, "encoder")
    assert set(base) <= set(start)
