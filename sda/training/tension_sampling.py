"""How a prior is best asked for tension, measured once when its training ends.

Tension lives in the notes the prior chooses; the render cannot set it. Two ways reach it: one
take guided towards the setting (guidance 3) whose setting is corrected every second by what was
measured (feedback, `sda.generate.particles`), or three unguided candidates steered while drawn
(and fed back), which costs more: three rows a column, each second of each measured. Which is
enough depends on the prior: with feedback one take followed as well as steering on drums (8 s
takes: rho 0.91 against 0.92 for the two guided candidates steered then), not on percussion
(0.18 / 0.75) or textures (-0.27 / 0.71), whose conditioning barely moves tension or moves it the
wrong way (experiments/RESULTS.md, "Prior"). So the end of training tries both ways on takes at
five settings, same seeds, and keeps one take only where it follows about as well. `sda generate`
and the app read the verdict (`sda.generate.sampling_defaults`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np

from sda.audio.control_fidelity import rank_correlation
from sda.audio.descriptors import measure
from sda.generate.sampling_defaults import NOTES_CANDIDATES, NOTES_GUIDANCE, STEERED_GUIDANCE
from sda.generate.stereo_takes import downmix
from sda.models.stereo_codec import is_stereo

log = logging.getLogger(__name__)

SETTINGS = (0.1, 0.3, 0.5, 0.7, 0.9)
# (guidance, candidates) of each way, as `sampling_defaults` draws them
WAYS = {"one_take": (NOTES_GUIDANCE, 1), "steered": (STEERED_GUIDANCE, NOTES_CANDIDATES)}
ONE_TAKE_FLOOR = 0.7  # below this one take is not following, whatever steering does
TOLERANCE = 0.05  # one take may follow this much less than steering and still be kept


def choose_way(one_take_rho: float | None, steered_rho: float | None) -> str:
    """'one_take' where one guided take follows tension about as well as steering, else
    'steered'; an unmeasurable figure (nan or None) counts as not following."""
    one = -1.0 if one_take_rho is None or np.isnan(one_take_rho) else one_take_rho
    steered = -1.0 if steered_rho is None or np.isnan(steered_rho) else steered_rho
    return "one_take" if one >= ONE_TAKE_FLOOR and one >= steered - TOLERANCE else "steered"


def _adherence(
    models: Any, guidance: float, candidates: int, seconds: float, seeds: int
) -> tuple[float, float]:
    """(rank correlation of tension setting vs the takes' measured raw tension, seconds of
    compute per second of take) for one way of sampling."""
    from sda.generate import generate

    rate = int(models.codec.config.sample_rate)
    settings, measured = [], []
    started = time.perf_counter()
    for setting in SETTINGS:
        for seed in range(seeds):
            take = generate(
                models, seconds=seconds, seed=seed, controls={"tension": setting},
                guidance=guidance, candidates=candidates,
            )  # fmt: skip
            settings.append(setting)
            measured.append(measure(downmix(take.audio), rate)["tension"])
    cost = (time.perf_counter() - started) / (seconds * len(settings))
    return rank_correlation(np.array(settings), np.array(measured)), cost


def measure_tension_sampling(
    codec: Any, prior: Any, stats: Mapping[str, Any], *, seconds: float, seeds: int
) -> dict[str, Any]:
    """{"way": "one_take" | "steered", "one_take_rho", "steered_rho", "seconds", "seeds"} for the
    trained `prior` (stats: its descriptor-stats record, the controls' ranges), from `seeds`
    takes of `seconds` at each of SETTINGS, the same seeds both ways."""
    models = SimpleNamespace(  # as a bundle reads: its channels tell its codes' grids apart
        codec=codec, prior=prior, name="the new prior", meta={"descriptor_stats": dict(stats)},
        channels=2 if is_stereo(codec) else 1,
    )  # fmt: skip
    was_training = prior.training
    prior.eval()
    try:
        found = {
            way: _adherence(models, *sampling, seconds, seeds) for way, sampling in WAYS.items()
        }
    finally:
        prior.train(was_training)
    (one, one_cost), (steered, steered_cost) = found["one_take"], found["steered"]
    way = choose_way(one, steered)
    log.info(
        "tension: one guided take (with feedback) follows it at rho %.2f (%.1fx real time), %d "
        "steered candidates at %.2f (%.1fx); `sda generate` will use %s", one, 1 / one_cost,
        NOTES_CANDIDATES, steered, 1 / steered_cost,
        "one take" if way == "one_take" else "the steered candidates",
    )  # fmt: skip
    return {
        "way": way, "one_take_rho": _figure(one), "steered_rho": _figure(steered),
        "steered_candidates": NOTES_CANDIDATES, "seconds": seconds, "seeds": seeds,
    }  # fmt: skip


def _figure(rho: float) -> float | None:
    """A rank correlation as kept in the bundle's JSON: rounded, None when it was not
    measurable (the takes' tension did not vary)."""
    return None if np.isnan(rho) else round(float(rho), 4)
