"""The weights' running average: its arithmetic, and a codec run that judges, keeps and resumes it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_codec_training import checkpoint, make_sounds, smoke_config
from torch import nn

from sda.models.codec import CodecConfig
from sda.training.codec_module import CodecModule, CodecTrainingConfig
from sda.training.train_codec import train
from sda.training.weight_average import LIVE_WEIGHTS_KEY, WeightAverage


def set_weights(module: nn.Module, value: float) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.fill_(value)


def test_the_average_follows_the_live_weights_with_a_lag() -> None:
    layer = nn.Linear(3, 2)
    average = WeightAverage(layer, decay=0.9)
    set_weights(layer, 0.0)
    average.update()  # starts at the live weights
    assert all(float(a.abs().max()) == 0.0 for a in average.average)
    set_weights(layer, 1.0)
    average.update()  # second update: decay min(0.9, 3 / 12) = 0.25
    assert torch.allclose(average.average[0], torch.full((2, 3), 0.75))
    for _ in range(200):
        average.update()
    assert torch.allclose(average.average[0], torch.ones(2, 3), atol=1e-6)


def test_swapping_in_and_out_restores_the_live_weights_exactly() -> None:
    layer = nn.Linear(3, 2)
    average = WeightAverage(layer, decay=0.5)
    average.swap_in()  # nothing averaged yet: the live weights stay
    live = [p.detach().clone() for p in layer.parameters()]
    average.update()
    set_weights(layer, 2.0)
    average.update()
    average.swap_in()
    assert not torch.equal(layer.weight, torch.full((2, 3), 2.0))
    assert torch.equal(layer.weight, average.average[0])
    average.swap_out()
    assert torch.equal(layer.weight, torch.full((2, 3), 2.0))
    assert not torch.equal(live[0], layer.weight)


def test_a_checkpoint_holds_the_average_and_resumes_from_the_live_weights() -> None:
    layer = nn.Linear(3, 2)
    average = WeightAverage(layer, decay=0.5, prefix="net.")
    average.update()
    set_weights(layer, 1.0)
    average.update()
    saved = {"state_dict": {f"net.{k}": v.clone() for k, v in layer.state_dict().items()}}
    average.store(saved)
    assert torch.equal(saved["state_dict"]["net.weight"], average.average[0])
    assert torch.equal(saved[LIVE_WEIGHTS_KEY]["net.weight"], torch.ones(2, 3))

    fresh = nn.Linear(3, 2)
    resumed = WeightAverage(fresh, decay=0.5, prefix="net.")
    resumed.restore(saved)
    assert LIVE_WEIGHTS_KEY not in saved
    assert torch.equal(saved["state_dict"]["net.weight"], torch.ones(2, 3))  # what fresh loads
    assert torch.equal(resumed.average[0], average.average[0])


def test_a_held_part_takes_its_average_and_keeps_it() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    average = WeightAverage(net, decay=0.5)
    average.update()
    set_weights(net, 1.0)
    average.update()  # the average now lies between the start and 1
    first_average = average.average[0].clone()
    average.hold(net[0])  # the first layer stops training as averaged
    assert torch.equal(net[0].weight, first_average)
    assert torch.equal(net[1].weight, torch.ones(2, 2))  # the other trains on as it was
    average.update()
    assert torch.equal(average.average[0], first_average)


def test_a_checkpoint_without_an_average_starts_one_afresh() -> None:
    layer = nn.Linear(3, 2)
    average = WeightAverage(layer, decay=0.5)
    average.update()
    average.restore({"state_dict": {}})
    assert average.average is None


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_a_decay_outside_0_1_is_refused(decay: float) -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(nn.Linear(2, 2), decay=decay)


def codec_weights(state: dict) -> dict:
    return {k: v for k, v in state.items() if k.startswith("codec.") and "quantizer" not in k}


def test_a_codec_run_keeps_the_average_and_resumes_training_the_live_weights(
    tmp_path: Path,
) -> None:
    data = make_sounds(tmp_path / "sounds", count=2)
    settings = (  # no k-means refresh: it restarts the average (the codes change meaning)
        "training.weight_average_decay=0.9",
        "training.learning_rate=3e-3",
        "training.codebook_refresh_step=null",
    )
    run = train(smoke_config(tmp_path, data, *settings, "trainer.max_steps=6"))
    first = checkpoint(run)
    live, kept = first[LIVE_WEIGHTS_KEY], codec_weights(first["state_dict"])
    assert set(live) >= set(kept)
    assert any(not torch.equal(live[k], kept[k]) for k in kept)  # the average, not the live ones

    again = train(smoke_config(tmp_path, data, *settings, "trainer.max_steps=8"))
    resumed = checkpoint(again)
    assert again == run and resumed["global_step"] == 8
    assert any(not torch.equal(resumed["state_dict"][k], kept[k]) for k in kept)

    # what a resume loads (Lightning calls on_load_checkpoint, then loads the state_dict): the
    # live weights to train on, the checkpoint's weights as the average
    module = CodecModule(
        CodecConfig.from_dict(resumed["hyper_parameters"]["codec"]),
        training=CodecTrainingConfig(weight_average_decay=0.9),
    )
    module.on_load_checkpoint(resumed)
    module.load_state_dict(resumed["state_dict"], strict=False)
    state = module.state_dict()
    live_now = checkpoint(again)[LIVE_WEIGHTS_KEY]
    assert all(torch.equal(state[k], live_now[k]) for k in kept)
    names = [f"codec.{name}" for name in module.weight_average.names]
    averaged = dict(zip(names, module.weight_average.average, strict=True))
    assert all(torch.equal(averaged[k], checkpoint(again)["state_dict"][k]) for k in kept)
