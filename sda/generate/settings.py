"""`GenerationSettings`: how a take is sampled, with the one set of limits the CLI, the app, the
engine and the benchmarks all use, so a setting is refused with the same words everywhere.

Front ends may offer narrower ranges (the app's sliders); they never widen these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sda.audio.descriptors import CONTROL_NAMES
from sda.errors import SdaError
from sda.generate.curves import ControlValue, ControlValueError, plain_control

MAX_SECONDS = 600.0
MAX_TEMPERATURE = 5.0
MAX_GUIDANCE = 20.0
MAX_CANDIDATES = 16  # takes measured per kept take, or region proposals per regeneration
MAX_SEED = 2**31 - 1


class GenerationError(SdaError):
    """Generation settings or models that cannot work together."""


@dataclass(frozen=True)
class GenerationSettings:
    """One take's sampling settings, checked when made (`GenerationError` names the first bad one).

    `seconds` None: the length comes from elsewhere (a regenerated region). `top_k` 0 or None and
    `top_p` None switch those filters off. `controls` maps control names to a 0..1 target or a
    curve of keyframes; unset (None) controls are dropped, the rest kept as numbers or lists.
    """

    seconds: float | None = 4.0
    seed: int = 0
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    guidance: float = 1.0
    candidates: int = 1
    controls: Mapping[str, ControlValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = _checked_numbers(self)
        values["controls"] = checked_controls(self.controls)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for provenance and tags; also `sda.generate.generate`'s keywords."""
        return asdict(self)


def checked_controls(controls: Mapping[str, ControlValue] | None) -> dict[str, float | list[float]]:
    """Controls by name -> a number or a list of keyframes, unset ones dropped; or a refusal."""
    checked: dict[str, float | list[float]] = {}
    for name, value in (controls or {}).items():
        if value is None:
            continue
        if name not in CONTROL_NAMES:
            raise GenerationError(
                f"unknown control {name!r}; the controls are {', '.join(CONTROL_NAMES)}"
            )
        try:
            checked[name] = plain_control(value, name)
        except ControlValueError as error:
            raise GenerationError(str(error)) from None
        except (TypeError, ValueError):
            raise GenerationError(
                f"control {name} must be a number between 0 and 1, or a curve like 0.1:0.9"
            ) from None
    return checked


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise GenerationError(f"{name} must be a number, got {value!r}") from None
    if kind is int and number != value and not isinstance(value, str):
        raise GenerationError(f"{name} must be a whole number, got {value!r}")
    return number


def _checked_numbers(settings: GenerationSettings) -> dict[str, Any]:
    """The numeric settings as plain ints/floats, or `GenerationError` for the first bad one."""
    seconds = settings.seconds
    if seconds is not None:
        seconds = _number("seconds", seconds, float)
        if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
            raise GenerationError(
                f"seconds must be more than 0 and at most {MAX_SECONDS:.0f}, got {seconds}"
            )
    seed = _number("seed", settings.seed, int)
    if not 0 <= seed <= MAX_SEED:
        raise GenerationError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed}")
    temperature = _number("temperature", settings.temperature, float)
    if not (math.isfinite(temperature) and 0 < temperature <= MAX_TEMPERATURE):
        raise GenerationError(
            f"temperature must be more than 0 and at most {MAX_TEMPERATURE:g} "
            f"(1.0 is neutral), got {temperature}"
        )
    top_k = None if settings.top_k is None else _number("top-k", settings.top_k, int)
    if top_k is not None and top_k < 0:
        raise GenerationError(f"top-k must be 0 (off) or a positive number of codes, got {top_k}")
    top_p = None if settings.top_p is None else _number("top-p", settings.top_p, float)
    if top_p is not None and not (0 < top_p <= 1):
        raise GenerationError(f"top-p must be more than 0 and at most 1, got {top_p}")
    guidance = _number("guidance", settings.guidance, float)
    if not (math.isfinite(guidance) and 0 <= guidance <= MAX_GUIDANCE):
        raise GenerationError(
            f"guidance must be between 0 (ignore controls) and {MAX_GUIDANCE:g}, got {guidance}"
        )
    candidates = _number("candidates", settings.candidates, int)
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise GenerationError(
            f"candidates must be between 1 (no choosing) and {MAX_CANDIDATES}, got {candidates}"
        )
    return {
        "seconds": seconds, "seed": seed, "temperature": temperature, "top_k": top_k or None,
        "top_p": top_p, "guidance": guidance, "candidates": candidates,
    }  # fmt: skip
