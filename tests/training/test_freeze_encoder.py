"""What a fine-tune from the base codec trains (training.freeze_encoder): by default the encoder
and decoder on sets of 10 s of audio or more, the decoder alone on smaller ones."""

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


def test_from_the_base_both_halves_learn_on_a_set_of_ten_seconds_or_more(
    tmp_path, caplog, monkeypatch
):
    import sda.training.train_codec as train_codec

    monkeypatch.setattr(train_codec, "ENCODER_FROM_SECONDS", 2.0)  # the sounds: 2 s, a fast test
    caplog.set_level(logging.INFO, logger="sda")
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=2"))
    assert "fine-tuning the encoder and decoder" in caplog.text
    assert moved(run, base, "decoder") and moved(run, base, "encoder")


def test_on_a_smaller_set_the_decoder_alone_learns_also_after_a_resume(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sda")
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)  # 2 s, under 10 s
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=2", "name=small"))
    assert "fine-tuning the decoder alone: 2.0 s of audio" in caplog.text
    assert moved(run, base, "decoder") and not moved(run, base, "encoder")
    resumed = train(laptop_config(tmp_path, data, "trainer.max_steps=3", "name=small"))
    assert checkpoint(resumed)["global_step"] == 3
    assert not moved(resumed, base, "encoder")
    both = train(
        laptop_config(tmp_path, data, "trainer.max_steps=2", "training.freeze_encoder=false")
    )
    assert moved(both, base, "encoder")


def test_freeze_encoder_true_keeps_the_base_encoder_on_any_set(tmp_path, monkeypatch):
    import sda.training.train_codec as train_codec

    monkeypatch.setattr(train_codec, "ENCODER_FROM_SECONDS", 2.0)  # the rule would train both
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    run = train(
        laptop_config(tmp_path, data, "trainer.max_steps=2", "training.freeze_encoder=true")
    )
    assert moved(run, base, "decoder") and not moved(run, base, "encoder")
    assert checkpoint(run)["hyper_parameters"]["init_from"]["source"] == "base"


def test_a_run_that_fell_back_to_scratch_trains_its_encoder_on_a_small_set(tmp_path, monkeypatch):
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
