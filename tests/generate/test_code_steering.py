"""Tension steered at every draw by a prior's code table (`sda.generate.code_steering`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sda.generate.code_steering import STATS_KEY, TENSION, CodeSteering
from sda.generate.sampling_defaults import sampling_defaults

TABLE = [[0.5, -0.5, 0.0], [0.2, 0.0, -0.2]]


class _Bundle:
    def __init__(self, stats):
        self.meta = {"descriptor_stats": stats}


def _steering() -> CodeSteering:
    steering = CodeSteering.of(_Bundle({STATS_KEY: {"table": TABLE, "neutral": 0.4}}))
    assert steering is not None
    return steering


def test_a_prior_without_a_table_is_not_steered_and_keeps_guided_candidates():
    assert CodeSteering.of(_Bundle({"tension": [0, 1]})) is None
    assert CodeSteering.of(_Bundle({STATS_KEY: {"neutral": 0.5}})) is None
    assert CodeSteering.of(object()) is None
    assert sampling_defaults({"tension": 0.8}) == (3.0, 4)
    assert sampling_defaults({"tension": 0.8}, steerable=True) == (1.0, 1)
    assert sampling_defaults({"tension": 0.8, "brightness": 0.2}, steerable=True) == (1.0, 1)


def test_the_tilt_favours_tense_codes_above_the_neutral_setting_and_calm_ones_below():
    steering = _steering()
    logits = torch.zeros(2, 3, 3)  # (batch, rows: 2 levels + a side row, codebook)
    tilted = steering.tilt(logits, torch.tensor([0.9, 0.1]))
    high, low = tilted[0], tilted[1]
    assert high[0, 0] > high[0, 2] > high[0, 1]  # 0.9: the tense code first
    assert low[0, 1] > low[0, 2] > low[0, 0]  # 0.1: the calm code first
    assert torch.equal(tilted[:, 2], logits[:, 2])  # rows past the table (a side) are left alone
    same = steering.tilt(logits, torch.tensor([0.4, 0.4]))  # at the neutral point: no tilt
    assert torch.equal(same, logits)
    other = steering.tilt(torch.zeros(1, 2, 5), torch.tensor([0.9]))  # another codebook
    assert torch.equal(other, torch.zeros(1, 2, 5))


def test_column_targets_follow_a_curve_and_skip_rows_that_did_not_ask():
    steering = _steering()
    controls = torch.zeros(2, 4, 6)
    controls[:, :, TENSION] = torch.tensor([0.1, 0.3, 0.7, 0.9])
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, TENSION] = True
    targets = steering.column_targets(controls, mask, batch=2, columns=6)
    assert targets.shape == (2, 6)
    assert targets[0].tolist() == pytest.approx([0.1, 0.3, 0.7, 0.9, 0.9, 0.9])
    assert targets[1].tolist() == pytest.approx([0.4] * 6)  # not asked: the neutral point
    nothing = torch.zeros(2, 6, dtype=torch.bool)
    assert steering.column_targets(controls, nothing, batch=2, columns=6) is None
    assert steering.column_targets(None, None, batch=2, columns=6) is None


def test_a_real_prior_draws_its_tense_codes_more_often_when_tension_is_high(
    tiny_prior_bundle, one_torch_thread
):
    from dataclasses import replace

    from sda.generate import generate

    levels = tiny_prior_bundle.codec.config.num_levels
    size = tiny_prior_bundle.codec.config.codebook_size
    rng = np.random.default_rng(0)
    table = rng.choice([-0.5, 0.5], size=(levels, size))  # half the codes tense, half calm
    stats = {**tiny_prior_bundle.meta["descriptor_stats"], STATS_KEY: {
        "table": table.tolist(), "neutral": 0.5}}  # fmt: skip
    steered = replace(tiny_prior_bundle, meta={**tiny_prior_bundle.meta, "descriptor_stats": stats})

    def mean_tension(setting: float) -> float:
        take = generate(steered, seconds=1.0, seed=3, controls={"tension": setting})
        grid = take.codes.indices[:levels]
        return float(np.mean([table[level, grid[level]].mean() for level in range(levels)]))

    assert mean_tension(0.9) > 0.3 > -0.3 > mean_tension(0.1)
