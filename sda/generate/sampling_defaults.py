"""How `sda generate` samples when --guidance and --candidates are left unset: the fastest way
that still keeps every control asked for (`experiments/bench_generation_defaults.py`).

Brightness, warmth, roughness and loudness are set at render time (`sda.generate.tone`,
`sda.generate.roughness`, the take's level), whatever notes the prior chose, and density by the
rests it is given (`sda.generate.rests`): one plainly conditioned take lands on them (rho
0.91-0.98 on drums, 0.90-0.98 on textures) at 4x the speed of keeping the best of 4 guided ones.
Tension lives in the notes themselves. A prior that carries a code tension table
(`sda.generate.code_steering`, every prior trained since it exists) is steered at each draw, so
one take lands on it too; an older prior keeps the closest of 4 guided takes (rho 0.56 -> 0.91
on drums, -0.15 -> 0.77 on textures; experiments/RESULTS.md)."""

from __future__ import annotations

from collections.abc import Mapping

ONE_TAKE = frozenset({"brightness", "warmth", "roughness", "loudness", "density"})
STEERED = frozenset({"tension"})  # one take when the prior carries a code table for it
NOTES_GUIDANCE = 3.0  # when a control the render cannot set is asked for
NOTES_CANDIDATES = 4


def sampling_defaults(
    controls: Mapping[str, object] | None, *, steerable: bool = False
) -> tuple[float, int]:
    """(guidance, candidates) for a take asked for `controls` (unset ones are None);
    `steerable`: the prior carries a code tension table (`CodeSteering.of(model)`)."""
    asked = {name for name, value in (controls or {}).items() if value is not None}
    one_take = ONE_TAKE | STEERED if steerable else ONE_TAKE
    if asked - one_take:
        return NOTES_GUIDANCE, NOTES_CANDIDATES
    return 1.0, 1


def describe_sampling(guidance: float, candidates: int) -> str:
    """'guidance 3, best of 4 takes' / 'guidance 1, one take', for the console."""
    takes = "one take" if candidates == 1 else f"best of {candidates} takes"
    return f"guidance {guidance:g}, {takes}"
