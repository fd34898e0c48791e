"""How `sda generate` samples when --guidance and --candidates are left unset: the fastest way
that still keeps every control asked for (`experiments/bench_generation_defaults.py`).

Brightness, warmth, roughness and loudness are set at render time (`sda.generate.tone`,
`sda.generate.roughness`, the take's level), whatever notes the prior chose, and density by the
rests it is given (`sda.generate.rests`): one plainly conditioned take lands on them (rho
0.91-0.98 on drums, 0.90-0.98 on textures) at 4x the speed of keeping the best of 4 guided ones.
Tension lives in the notes themselves: there, two guided candidates steered while they are drawn
(`sda.generate.particles`: every second both continue from the one closer to the setting) move
it about as far as keeping the best of 4 whole guided takes did, at 1.5x its speed (8 s takes, 8
seeds: drums rho 0.86 / textures 0.83, against 0.92 / 0.85 for the best of 4 and 0.22 / -0.14
for one take). Tilting every draw towards the codes of tense sound followed the setting in one
take but turned high settings into broadband noise, and was not kept (experiments/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping

ONE_TAKE = frozenset({"brightness", "warmth", "roughness", "loudness", "density"})
NOTES_GUIDANCE = 3.0  # when a control the render cannot set is asked for
NOTES_CANDIDATES = 2  # steered while drawn


def sampling_defaults(controls: Mapping[str, object] | None) -> tuple[float, int]:
    """(guidance, candidates) for a take asked for `controls` (unset ones are None)."""
    asked = {name for name, value in (controls or {}).items() if value is not None}
    if asked - ONE_TAKE:
        return NOTES_GUIDANCE, NOTES_CANDIDATES
    return 1.0, 1


def describe_sampling(guidance: float, candidates: int) -> str:
    """'guidance 3, 2 candidates steered every second' / 'guidance 1, one take', for the console."""
    takes = "one take" if candidates == 1 else f"{candidates} candidates steered every second"
    return f"guidance {guidance:g}, {takes}"
