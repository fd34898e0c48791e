"""How `sda generate` samples when --guidance and --candidates are left unset: the fastest way
that still keeps every control asked for (`experiments/bench_generation_defaults.py`).

Brightness, warmth, roughness and loudness are set at render time (`sda.generate.tone`,
`sda.generate.roughness`, the take's level), whatever notes the prior chose, and density by the
rests it is given (`sda.generate.rests`): one plainly conditioned take lands on them (rho
0.91-0.98 on drums, 0.90-0.98 on textures) at 4x the speed of keeping the best of 4 guided ones.
Tension lives in the notes themselves: there, three unguided candidates steered while they are
drawn (`sda.generate.particles`: every second all continue from the one closest to the setting)
follow it. Unguided, because guidance pushes every candidate the way the prior's conditioning
points, which on some priors is the wrong way: on a textures prior whose one guided take
anti-correlates with tension, 2 guided steered candidates followed at rho 0.32 and 3 unguided
ones at 0.79, at the same speed (3 rows a column instead of 2 x 2); on percussion both 0.88-0.89
(10 s takes, 8 seeds; experiments/RESULTS.md, "## Prior", 2026-12-07). Tilting every draw towards
the codes of tense sound followed the setting in one take but turned high settings into
broadband noise, and was not kept. Every take asked for tension is also fed back: each second's
measure corrects the setting the prior is given next, which brought one guided take on the drums
from rho 0.75 to 0.91. Where one guided take follows tension about as well as the steered
candidates, measured on the prior when its training ended (`sda.training.tension_sampling`),
tension gets one guided take: faster still.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ONE_TAKE = frozenset({"brightness", "warmth", "roughness", "loudness", "density"})
NOTES_GUIDANCE = 3.0  # one take asked for a control the render cannot set: guided towards it
STEERED_GUIDANCE = 1.0  # steered candidates: the choices steer, guidance would bias them all
NOTES_CANDIDATES = 3  # steered while drawn
LEGACY_STEERED_CANDIDATES = 2  # what a tension check compared before it recorded the count
TENSION_SAMPLING_KEY = "tension_sampling"  # in a prior's descriptor stats: how tension is asked


def notes_controls(controls: Iterable[str]) -> list[str]:
    """The controls among `controls` that live in the notes, which the render cannot set
    (tension): what steering measures first and what feedback corrects."""
    return [name for name in controls if name not in ONE_TAKE]


def _tension_record(stats: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """What a prior's tension check recorded ({} for a prior trained before it existed)."""
    record = (stats or {}).get(TENSION_SAMPLING_KEY)
    return record if isinstance(record, Mapping) else {}


def tension_way(stats: Mapping[str, Any] | None) -> str:
    """'one_take' or 'steered': what a prior's descriptor stats record for tension (steered for
    a prior trained before the measure existed)."""
    return _tension_record(stats).get("way", "steered")


def describe_tension_way(stats: Mapping[str, Any] | None) -> str | None:
    """ "one guided take (one take rho 0.82, 3 steered 0.87)" for `sda library show`; None for a
    prior trained before the check existed. The steered figure is for as many candidates as the
    check compared (2 before 2026-12-07); `sda generate` now steers NOTES_CANDIDATES."""
    record = _tension_record(stats)
    if "way" not in record:
        return None
    way = "one guided take" if record["way"] == "one_take" else "steered candidates"
    one, steered = record.get("one_take_rho"), record.get("steered_rho")
    if not isinstance(one, int | float) or not isinstance(steered, int | float):
        return way
    compared = record.get("steered_candidates", LEGACY_STEERED_CANDIDATES)
    return f"{way} (one take rho {one:.2f}, {compared} steered {steered:.2f})"


def sampling_defaults(
    controls: Mapping[str, object] | None, stats: Mapping[str, Any] | None = None
) -> tuple[float, int]:
    """(guidance, candidates) for a take asked for `controls` (unset ones are None) from the
    model whose descriptor stats are `stats` (None: not known yet)."""
    asked = {name for name, value in (controls or {}).items() if value is not None}
    if not asked - ONE_TAKE:
        return 1.0, 1
    if asked - ONE_TAKE == {"tension"} and tension_way(stats) == "one_take":
        return NOTES_GUIDANCE, 1
    return STEERED_GUIDANCE, NOTES_CANDIDATES


def describe_sampling(guidance: float, candidates: int, fed_back: Iterable[str] = ()) -> str:
    """'guidance 1, 3 candidates steered every second, tension fed back' / 'guidance 1, one take',
    for the console; `fed_back`: the controls corrected by feedback (`sda.generate.particles`)."""
    takes = "one take" if candidates == 1 else f"{candidates} candidates steered every second"
    feedback = ", ".join(fed_back)
    return f"guidance {guidance:g}, {takes}" + (f", {feedback} fed back" if feedback else "")
