"""The training family's error: a run that cannot start or continue, said in one sentence."""

from __future__ import annotations

from sda.errors import SdaError


class TrainingError(SdaError):
    """A training run that cannot start or continue (bad data dir, device, config value, run dir
    clash)."""
