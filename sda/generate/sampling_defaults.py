"""How `sda generate` samples when --guidance and --candidates are left unset: the fastest way
that still keeps every control asked for (`experiments/bench_generation_defaults.py`).

Brightness, warmth, roughness and loudness are set at render time (`sda.generate.tone`,
`sda.generate.roughness`, the take's level), whatever notes the prior chose, and density by the
rests it is given (`sda.generate.rests`): one plainly conditioned take lands on them (rho
0.91-0.98 on drums, 0.90-0.98 on textures) at 4x the speed of keeping the best of 4 guided ones.
Tension lives in the notes themselves: there, keeping the closest of 4 guided takes is what moves
it (rho 0.56 -> 0.91 on drums, -0.15 -> 0.77 on textures; 0.87 and 0.88 over 8 seeds on priors
trained again). Tilting every draw towards the codes of tense sound followed the setting in one
take but turned high settings into broadband noise, and was not kept (experiments/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping

ONE_TAKE = frozenset({"brightness", "warmth", "roughness", "loudness", "density"})
NOTES_GUIDANCE = 3.0  # when a control the render cannot set is asked for
NOTES_CANDIDATES = 4


def sampling_defaults(controls: Mapping[str, object] | None) -> tuple[float, int]:
    """(guidance, candidates) for a take asked for `controls` (unset ones are None)."""
    asked = {name for name, value in (controls or {}).items() if value is not None}
    if asked - ONE_TAKE:
        return NOTES_GUIDANCE, NOTES_CANDIDATES
    return 1.0, 1


def describe_sampling(guidance: float, candidates: int) -> str:
    """'guidance 3, best of 4 takes' / 'guidance 1, one take', for the console."""
    takes = "one take" if candidates == 1 else f"best of {candidates} takes"
    return f"guidance {guidance:g}, {takes}"
