"""What a fine-tune from the base codec trains: encoder and decoder by default, the decoder alone
with training.freeze_encoder=true."""

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


def test_from_the_base_both_halves_learn_by_default(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sda")
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=2"))
    assert "fine-tuning the encoder and decoder" in caplog.text
    assert moved(run, base, "decoder") and moved(run, base, "encoder")


def test_freeze_encoder_true_keeps_the_base_encoder_also_after_a_resume(tmp_path):
    base = load_base_codec()[0].state_dict()
    data = make_sounds(tmp_path / "sounds", count=2, seconds=1.0)
    frozen = ("name=frozen", "training.freeze_encoder=true")
    run = train(laptop_config(tmp_path, data, "trainer.max_steps=2", *frozen))
    assert moved(run, base, "decoder") and not moved(run, base, "encoder")
    resumed = train(laptop_config(tmp_path, data, "trainer.max_steps=3", *frozen))
    assert checkpoint(resumed)["global_step"] == 3
    assert checkpoint(resumed)["hyper_parameters"]["init_from"]["source"] == "base"
    assert not moved(resumed, base, "encoder")
