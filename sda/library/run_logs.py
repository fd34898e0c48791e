"""What a training run's folder says beyond its weights: TensorBoard scalars, the final evaluation,
the dataset report (files with hashes) and where a grown codec started from.

Everything here is informative: a missing or damaged log gives less information, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from sda.library.checkpoints import RunCheckpoint


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_summary(run: RunCheckpoint) -> dict[str, Any]:
    """The files the codec learned from: names relative to the data folder, sha256, seconds."""
    summary: dict[str, Any] = dict(run.hparams.get("dataset") or {})
    report_path = run.run_dir / "dataset_report.json"
    if not report_path.is_file():
        return summary
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        folder = Path(report.get("folder", ""))
        files = [_file_entry(item, folder) for item in report.get("files", [])]
    except (OSError, ValueError, AttributeError, TypeError, KeyError, RecursionError):
        return summary  # the summary is informative only; a damaged report must not block export
    files = [entry for entry in files if entry is not None]
    summary.update(
        folder=str(folder),
        files=files,
        count=len(files),
        seconds=round(sum(f["seconds"] for f in files), 3),
    )
    return summary


def _file_entry(item: dict[str, Any], folder: Path) -> dict[str, Any] | None:
    """One usable file of the report as meta.json lists it; None for a file the scan rejected."""
    if item.get("verdict") != "ok":
        return None
    path = Path(item["path"])
    try:
        name = str(path.relative_to(folder))
    except ValueError:
        name = path.name
    return {
        "name": name,
        "sha256": file_sha256(path) if path.is_file() else None,
        "seconds": round(float(item.get("seconds", 0.0)), 3),
    }


def init_from(run: RunCheckpoint) -> tuple[str | None, str | None]:
    """(source, parent fingerprint) of a grown codec: hparams {"init_from": {"source", "fingerprint"}}
    as sda-train writes them, or the init_from entry of the run's resolved Hydra config."""
    recorded = run.hparams.get("init_from")
    if isinstance(recorded, dict):
        return (str(recorded["source"]) if recorded.get("source") else None), recorded.get(
            "fingerprint"
        )
    if recorded:
        return str(recorded), None
    hydra_config = run.run_dir / ".hydra" / "config.yaml"
    if hydra_config.is_file():
        import yaml  # PyYAML only, not Hydra: reading the resolved config needs no Hydra

        try:
            value = (yaml.safe_load(hydra_config.read_text(encoding="utf-8")) or {}).get(
                "init_from"
            )
        except (yaml.YAMLError, OSError, AttributeError):
            return None, None
        return (str(value) if value else None), None
    return None, None


# Scalars worth keeping with a model: validation quality, the training loss, codebook health.
_KEPT_SCALARS = ("val/", "train/loss", "codebook/used_percent_min", "codebook/perplexity_level0")


def tensorboard_metrics(run_dir: Path) -> dict[str, float]:
    """Last value (and, for validation, the best) of the run's key TensorBoard scalars."""
    events = sorted(
        run_dir.glob("tensorboard/**/events.out.tfevents.*"), key=lambda p: p.stat().st_mtime
    )
    if not events:
        return {}
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return {}
    metrics: dict[str, float] = {}
    for path in events:  # oldest first: a resumed run's newer files win
        skip = {"images": 1, "audio": 1, "histograms": 1, "tensors": 1, "scalars": 0}
        accumulator = EventAccumulator(str(path), size_guidance=skip)
        try:
            accumulator.Reload()
        except Exception:  # a damaged log must never block an export
            continue
        for tag in accumulator.Tags().get("scalars", []):
            if not tag.startswith(_KEPT_SCALARS):
                continue
            values = [event.value for event in accumulator.Scalars(tag)]
            metrics[tag] = round(float(values[-1]), 5)
            if tag.startswith("val/") and tag != "val/plateau":  # a flag has no "best"
                best = max if "accuracy" in tag else min
                metrics[f"{tag} (best)"] = round(float(best(values)), 5)
    return metrics


def training_metrics(run: RunCheckpoint) -> dict[str, Any]:
    """The checkpoint's step and metrics, the logged scalars and the final evaluation, if any."""
    info = dict(run.training)
    logged = tensorboard_metrics(run.run_dir)
    if logged:
        info["metrics"] = {**info.get("metrics", {}), **logged}
    extra = run.run_dir / "metrics.json"  # final evaluation, if the training entry wrote one
    if extra.is_file():
        with contextlib.suppress(OSError, ValueError, RecursionError):
            final = json.loads(extra.read_text(encoding="utf-8"))
            if isinstance(final, dict):  # anything else is not a set of metrics
                info["final"] = final
    return info
