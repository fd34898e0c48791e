"""A training config's values checked before any data is scanned or model built.

`check_config(cfg, app)` raises one `TrainingError` naming the key, the value given and what is
allowed, instead of a traceback from deep inside PyTorch or Lightning minutes later.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sda.models.fine_time import MAX_BANDS
from sda.training.errors import TrainingError
from sda.training.prior_variants import GAIN_RANGE_DB, SPEED_RANGE

MAX_SEGMENT_SECONDS = 60.0  # a training crop; longer ones only cost memory (and skip shorter files)
MIN_SEGMENT_SECONDS = 0.05  # a crop must hold a few frames of the largest STFT window
MAX_MODEL_SIZE = 1 << 20  # any dimension or count in model.*: sanity, not a tuned limit
_MISSING = object()
_TIME_BUDGET = re.compile(r"(\d+):(\d\d):(\d\d):(\d\d)")  # as Lightning's Timer reads it


@dataclass(frozen=True)
class Whole:
    """A whole number in low..high (high None: no upper bound), or one of `also` (null, -1...)."""

    low: int
    high: int | None = None
    also: tuple[Any, ...] = ()
    note: str = ""

    def allows(self, value: Any) -> bool:
        if any(value is other or (_is_whole(value) and value == other) for other in self.also):
            return True
        return _is_whole(value) and value >= self.low and (self.high is None or value <= self.high)

    def describe(self) -> str:
        span = (
            f"from {self.low} to {self.high}"
            if self.high is not None
            else f"of at least {self.low}"
        )
        return _with_also(f"a whole number {span}", self.also, self.note)


@dataclass(frozen=True)
class Number:
    """A finite number in low..high; `above`: strictly above low."""

    low: float
    high: float
    above: bool = False

    def allows(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        return (value > self.low if self.above else value >= self.low) and value <= self.high

    def describe(self) -> str:
        span = f"above {self.low:g} and at most" if self.above else f"from {self.low:g} to"
        return f"a number {span} {self.high:g}"


@dataclass(frozen=True)
class Numbers:
    """A list of `count` numbers (None: any length) in low..high."""

    low: float
    high: float
    count: int | None = None

    def allows(self, value: Any) -> bool:
        if not isinstance(value, list | tuple | ListConfig):
            return False
        items = list(value)
        if self.count is not None and len(items) != self.count:
            return False
        return all(_is_number(v) and self.low <= v <= self.high for v in items)

    def describe(self) -> str:
        size = f"a list of {self.count} numbers" if self.count else "a list of numbers"
        return f"{size}, each from {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class Choice:
    """One of a few fixed values (true/false, "auto" ...), or a `Whole` when given."""

    values: tuple[Any, ...]
    whole: Whole | None = None

    def allows(self, value: Any) -> bool:
        if any(value is v or (isinstance(v, str) and value == v) for v in self.values):
            return True
        return self.whole is not None and self.whole.allows(value)

    def describe(self) -> str:
        words = " or ".join(_show(v) for v in self.values)
        return f"{words} or {self.whole.describe()}" if self.whole else words


@dataclass(frozen=True)
class TimeBudget:
    """null or a duration "DD:HH:MM:SS" above zero (Lightning's `max_time`)."""

    def allows(self, value: Any) -> bool:
        if value is None:
            return True
        found = _TIME_BUDGET.fullmatch(value.strip()) if isinstance(value, str) else None
        return bool(found) and any(int(part) for part in found.groups())

    def describe(self) -> str:
        return 'null (no time limit) or a duration "DD:HH:MM:SS" above zero, e.g. 00:01:30:00'


Rule = Whole | Number | Numbers | Choice | TimeBudget
BOOLEAN = Choice((True, False))
UNIT = Number(0.0, 1.0)

# keys both apps read
SHARED: dict[str, Rule] = {
    "seed": Whole(0, 2**32 - 1),
    "threads": Whole(1, 1024, also=(None,), note="PyTorch's default"),
    "resume": BOOLEAN,
    "data.batch_size": Whole(1, 4096),
    "data.val_fraction": Number(0.0, 0.5),
    "data.steps_per_epoch": Whole(1, 10**7),
    "trainer.max_steps": Whole(1, None, also=(-1,), note="no step limit"),
    "trainer.max_time": TimeBudget(),
    "trainer.log_every_n_steps": Whole(1),
    "trainer.check_val_every_n_epoch": Whole(1, also=(None,)),
    "trainer.num_sanity_val_steps": Whole(-1),
    "callbacks.model_checkpoint.every_n_train_steps": Whole(1, also=(None,)),
    "training.learning_rate": Number(0.0, 1.0, above=True),
    "training.betas": Numbers(0.0, 0.9999, count=2),
    "training.weight_decay": Number(0.0, 10.0),
    "training.warmup_steps": Whole(0),
    "training.min_lr_ratio": UNIT,
}
CODEC: dict[str, Rule] = {
    "data.segment_seconds": Number(MIN_SEGMENT_SECONDS, MAX_SEGMENT_SECONDS),
    "model.sample_rate": Whole(8000, 192_000),
    "data.sample_rate": Whole(8000, 192_000),
    "data.augment": Choice((True, False, None)),
    "data.file_balance": Number(0.0, 1.0),
    "data.num_workers": Whole(0, 256, also=(None,), note="automatic"),
    "quantizer.codebook_size": Choice(("auto",), Whole(2, 65536)),
    "model.channels": Choice(("auto",), Whole(1, 2, note="1 mono, 2 stereo")),
    "model.side_gain": Number(1.0, 16.0),
    "model.side_levels": Whole(0, 32, note="0: every level"),
    "model.side_direction": Choice((True, False)),
    "model.fine_time_bands": Whole(0, MAX_BANDS, note="0: none"),
    "model.head_phase": Choice(("learned", "vocoder")),
    "training.head_magnitude_weight": Number(0.0, 100.0),
    "training.side_share": Number(0.0, 1.0, above=True),
    "training.weight_average_decay": Number(0.0, 0.99999),
    "quantizer.num_levels": Whole(1, 32),
    "quantizer.ema_decay": Number(0.0, 0.9999, above=True),
    "quantizer.kmeans_iters": Whole(0, 1000),
    "quantizer.commitment_weight": Number(0.0, 100.0),
    "quantizer.dropout_probability": UNIT,
    "quantizer.dead_code_fraction": UNIT,
    "quantizer.warmup_vectors_per_code": Whole(1, 10_000),
    "training.lr_schedule": Choice(("half_life", "budget")),
    "training.lr_half_life_steps": Whole(1, also=(None,), note="a constant rate"),
    "training.grad_clip": Number(0.0, 1e6, above=True),
    "training.max_warmup_batches": Whole(1, 100_000),
    "training.codebook_refresh_step": Whole(0, also=(None,), note="never"),
    "training.adversarial_start_step": Whole(0, also=(None,), note="no adversarial phase"),
    "training.discriminator_lr": Number(0.0, 1.0, above=True),
    "training.discriminator_channels": Whole(1, 1024),
    **{
        f"training.{name}_weight": Number(0.0, 1000.0)
        for name in (
            "mel",
            "stft",
            "envelope",
            "adversarial",
            "feature_matching",
            "stereo",
            "image",
        )
    },
}
PRIOR: dict[str, Rule] = {
    "prior_data.shifts": Whole(1, 16),
    "prior_data.speeds": Numbers(*SPEED_RANGE),
    "prior_data.gains_db": Numbers(*GAIN_RANGE_DB),
    "prior_data.num_workers": Whole(0, 256),
    "prior_data.pack_short": BOOLEAN,
    "prior_data.lookahead_seconds": Number(0.0, 30.0, above=True),
    "prior_data.longest_gap_seconds": Number(0.0, 30.0),
    "tension_check.seconds": Number(0.0, 60.0, above=True),
    "tension_check.seeds": Whole(0, 64),
    "model.num_levels": Whole(1, 64, also=(None,), note="the codec's"),
    "model.codebook_size": Whole(2, 65536, also=(None,), note="the codec's"),
    "training.label_smoothing": Number(0.0, 0.99),
    "training.example_seconds": Number(0.0, 60.0),
    "training.example_controls": Numbers(0.0, 1.0),
}
RULES = {"codec": {**SHARED, **CODEC}, "prior": {**SHARED, **PRIOR}}


def check_config(cfg: DictConfig, app: str) -> None:
    """Raise `TrainingError` for the first value of `cfg` ("codec" or "prior" app) out of range."""
    for key, rule in RULES[app].items():
        value = _value(cfg, key)
        if value is not _MISSING and not rule.allows(value):
            raise TrainingError(_message(key, value, rule.describe()))
    check_model_fields(cfg, app)


def check_model_fields(cfg: DictConfig, app: str) -> None:
    """Every whole-number and number field of model.* of the right kind, before a model is built."""
    from sda.models.codec import CodecConfig
    from sda.models.prior import PriorConfig

    config_class = CodecConfig if app == "codec" else PriorConfig
    skip = set(RULES[app]) | {"model.num_levels", "model.codebook_size"}  # quantizer.* or codec's
    for item in fields(config_class):
        key = f"model.{item.name}"
        rule = None if key in skip else _model_rule(item.name, item.type)
        value = _value(cfg, key) if rule is not None else _MISSING
        if value is not _MISSING and not rule.allows(value):
            raise TrainingError(_message(key, value, rule.describe()))


def _model_rule(name: str, kind: Any) -> Rule | None:
    if kind in ("int", int):
        return Whole(0 if name.endswith("_blocks") else 1, MAX_MODEL_SIZE)
    if kind in ("float", float):
        return Number(0.0, 0.99) if "drop" in name else Number(0.0, 1e3, above=True)
    return None


def _value(cfg: DictConfig, key: str) -> Any:
    """The resolved value at `key`, or _MISSING when this config has no such key."""
    try:
        value = OmegaConf.select(cfg, key, default=_MISSING, throw_on_missing=False)
    except OmegaConfBaseException as error:  # e.g. an interpolation that points nowhere
        first = str(error).splitlines()[0]
        raise TrainingError(f"{key} cannot be read: {first}") from None
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _message(key: str, value: Any, allowed: str) -> str:
    return f"{key}={_show(value)} is not allowed: {key} must be {allowed}"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value[:60]}"'
    return repr(value)[:60]


def _with_also(text: str, also: tuple[Any, ...], note: str = "") -> str:
    if also:
        text += ", or " + " or ".join(_show(v) for v in also)
    return f"{text} ({note})" if note else text


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    is_real = isinstance(value, int | float) and not isinstance(value, bool)
    return is_real and math.isfinite(value)


# Overrides naming a folder that Hydra creates before any of our code runs (`paths.output_dir`
# is the one users set; the default is "outputs" in the working folder).
OUTPUT_KEYS = ("paths.output_dir", "paths.run_dir", "hydra.run.dir", "hydra.sweep.dir")


def check_output_folders(overrides: list[str]) -> None:
    """TrainingError naming the key when a run folder given on the command line (or the default
    `outputs`) is, or lies under, a file: Hydra would stop with a traceback creating it."""
    given = {}
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key in OUTPUT_KEYS and value and "${" not in value:
            given[key] = value
    default = not given
    if default:
        given["paths.output_dir"] = "outputs"
    for key, value in given.items():
        blocker = _file_in_the_way(Path(value).expanduser())
        if blocker is not None:
            setting = f"{key} (default {value})" if default else f"{key}={value}"
            raise TrainingError(
                f"{setting}: {blocker} is a file, not a folder; "
                f"give a folder for the training runs (e.g. {key}=runs)"
            )


def _file_in_the_way(folder: Path) -> Path | None:
    """The existing file at `folder` or at one of its parents, if any."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None
