"""How hard tension steers a prior: found by trying, once, at the end of its training.

The code table (`sda.training.code_tension`) says which codes sound tense; how far a given tilt
of the logits moves a take's measured tension depends on the prior. On the dev sets the same
tilt turned a drum prior's take into a wash of noise half way up the control while a textures
prior hardly followed it (experiments/RESULTS.md). So when training ends the prior samples a few
short takes at PROBE_SETTING with each of STRENGTHS in turn and keeps the first whose takes reach
REACH (measured tension in the control's 0..1 units): the gentlest tilt that lands, so the prior
keeps as much of its own playing as it can. The strength is stored beside the table.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import numpy as np

from sda.audio.descriptors import CONTROL_NAMES, measure
from sda.generate import generate
from sda.generate.code_steering import STATS_KEY, TENSION
from sda.generate.steering import bundle_stats
from sda.generate.stereo_takes import downmix

log = logging.getLogger(__name__)

STRENGTHS = (10.0, 15.0, 22.0, 30.0, 45.0)  # nats per unit of (setting - neutral) x code tension
PROBE_SETTING = 0.7
REACH = 0.6  # the takes' mean measured tension at PROBE_SETTING that counts as following it
SECONDS = 3.0
SEEDS = (0, 1)


def _with_steering(codec: Any, prior: Any, stats: dict, **steering: float) -> SimpleNamespace:
    """A bundle-like view of the model in training whose table steers as `steering` says."""
    record = {**stats[STATS_KEY], **steering}
    return SimpleNamespace(
        codec=codec, prior=prior, name="the new prior",
        meta={"descriptor_stats": {**stats, STATS_KEY: record}},
    )  # fmt: skip


def _mean_tension(models: SimpleNamespace, setting: float | None) -> float:
    """The mean measured tension (0..1) of short takes at `setting` (None: free takes)."""
    stats = bundle_stats(models)
    rate = int(models.codec.config.sample_rate)
    values = []
    for seed in SEEDS:
        controls = {} if setting is None else {"tension": setting}
        take = generate(models, seconds=SECONDS, seed=seed, controls=controls)
        raw = measure(downmix(take.audio), rate)
        values.append(stats.normalize(np.array([raw[n] for n in CONTROL_NAMES]))[TENSION])
    return float(np.mean(values))


def calibrate_steering(codec: Any, prior: Any, stats: dict) -> dict[str, float] | None:
    """{"neutral": free takes' tension, "strength": the gentlest of STRENGTHS whose takes follow
    a tension setting (the strongest when none does)}; None when `stats` carry no code table."""
    if not isinstance(stats.get(STATS_KEY), dict):
        return None
    neutral = round(_mean_tension(_with_steering(codec, prior, stats), None), 4)
    reached = {}
    for strength in STRENGTHS:
        models = _with_steering(codec, prior, stats, neutral=neutral, strength=strength)
        reached[strength] = _mean_tension(models, PROBE_SETTING)
        if reached[strength] >= REACH:
            break
    chosen = (
        max(reached)
        if max(reached.values()) < REACH
        else min(s for s, value in reached.items() if value >= REACH)
    )
    log.info(
        "tension steering: free takes measure %.2f; strength %g (tension %.2f at setting %.1f; "
        "tried %s)", neutral, chosen, reached[chosen], PROBE_SETTING,
        ", ".join(f"{s:g} -> {v:.2f}" for s, v in reached.items()),
    )  # fmt: skip
    return {"neutral": neutral, "strength": chosen}
