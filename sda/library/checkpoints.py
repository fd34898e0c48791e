"""Read training runs safely: model weights + hyper-parameters from a Lightning checkpoint.

`torch.load(weights_only=True)` refuses anything but tensors and plain containers, so a checkpoint
cannot run code. Optimizer, scheduler, loop and discriminator state are dropped here.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sda.library.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, Bundle, BundleError, build_bundle

if TYPE_CHECKING:
    import torch

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


@dataclass
class RunCheckpoint:
    """What a training run holds that a bundle needs."""

    run_dir: Path
    checkpoint: Path
    kind: str  # "codec" or "prior"
    hparams: dict[str, Any]
    state: dict[str, torch.Tensor]  # model weights, the "codec." / "prior." prefix stripped
    training: dict[str, Any] = field(default_factory=dict)  # step, epoch, monitored metrics


def find_checkpoint(run: Path) -> tuple[Path, Path]:
    """(run_dir, checkpoint file) for a run folder or a .ckpt file."""
    run = Path(run).expanduser()
    if run.is_file():
        return (run.parent.parent if run.parent.name == "checkpoints" else run.parent), run
    last = run / LAST_CHECKPOINT
    if last.is_file():
        return run, last
    others = sorted((run / "checkpoints").glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    if others:
        return run, others[-1]
    raise BundleError(
        f"{run} is neither a bundle (no config.json) nor a training run (no {LAST_CHECKPOINT}); "
        "give a bundle folder, a run folder from sda-train / sda-train-prior, or a library name"
    )


def _training_info(ckpt: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for key in ("global_step", "epoch"):
        if isinstance(ckpt.get(key), int):
            info[key] = ckpt[key]
    metrics: dict[str, float] = {}
    for name, state in (ckpt.get("callbacks") or {}).items():
        if "ModelCheckpoint" not in str(name) or not isinstance(state, dict):
            continue
        monitor, score = state.get("monitor"), state.get("best_model_score")
        if monitor and score is not None:
            with contextlib.suppress(TypeError, ValueError):
                metrics[f"best {monitor}"] = float(score)
    if metrics:
        info["metrics"] = metrics
    return info


def read_checkpoint(run: str | os.PathLike) -> RunCheckpoint:
    import torch

    run_dir, path = find_checkpoint(Path(run))
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise BundleError(
            f"{path} holds objects other than weights and plain values, which sda refuses to "
            f"unpickle ({str(error).splitlines()[0][:200]})"
        ) from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, OSError) as error:
        raise BundleError(
            f"{path} is truncated or not a PyTorch checkpoint ({type(error).__name__}); "
            "was training interrupted while saving? use an earlier checkpoint"
        ) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise BundleError(f"{path} is not a Lightning training checkpoint (no state_dict)")
    hparams = dict(ckpt.get("hyper_parameters") or {})
    if isinstance(hparams.get("prior"), dict):
        kind = "prior"
    elif isinstance(hparams.get("codec"), dict):
        kind = "codec"
    else:
        raise BundleError(
            f"{path}: its hyper-parameters hold neither a codec nor a prior config; "
            "was it written by sda-train or sda-train-prior?"
        )
    prefix = f"{kind}."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise BundleError(f"{path} has no '{prefix}*' weights; it is not an sda {kind} checkpoint")
    return RunCheckpoint(
        run_dir=run_dir,
        checkpoint=path,
        kind=kind,
        hparams=hparams,
        state=state,
        training=_training_info(ckpt),
    )


def resolve_codec_source(prior_run: RunCheckpoint) -> Path:
    """The codec a prior run was trained on (its `codec_source`), relative paths tried both ways."""
    source = prior_run.hparams.get("codec_source")
    if not source:
        raise BundleError(f"{prior_run.checkpoint} does not record which codec it was trained on")
    candidate = Path(str(source)).expanduser()
    for path in (candidate, prior_run.run_dir / candidate):
        if path.exists():
            return path
    raise BundleError(
        f"{prior_run.checkpoint} was trained on the codec at {source}, which no longer exists; "
        "pass the codec run explicitly: sda export CODEC_RUN --prior PRIOR_RUN"
    )


def run_meta(run: RunCheckpoint) -> dict[str, Any]:
    """A minimal meta.json for a bundle loaded straight from a run."""
    meta: dict[str, Any] = {
        "name": run.run_dir.name,
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "source": {run.kind: str(run.run_dir)},
        "training": {run.kind: run.training},
    }
    if isinstance(run.hparams.get("dataset"), dict):
        meta["dataset"] = run.hparams["dataset"]
    if isinstance(run.hparams.get("descriptor_stats"), dict):
        meta["descriptor_stats"] = run.hparams["descriptor_stats"]
    return meta


def check_prior_matches(prior_run: RunCheckpoint, codec_bundle: Bundle) -> None:
    expected = prior_run.hparams.get("codec_fingerprint")
    if expected and expected != codec_bundle.id:
        raise BundleError(
            f"the prior in {prior_run.run_dir} was trained on codec {expected}, but the codec given is "
            f"{codec_bundle.id}; pair each prior with the codec it was trained on"
        )


def load_run(
    path: str | os.PathLike, *, device: str = "cpu", codec: str | os.PathLike | None = None
) -> Bundle:
    """A `Bundle` straight from a codec run, or from a prior run plus the codec it names."""
    run = read_checkpoint(path)
    if run.kind == "codec":
        return build_bundle(
            path=run.run_dir,
            config={
                "format": BUNDLE_FORMAT,
                "version": BUNDLE_VERSION,
                "codec": run.hparams["codec"],
                "prior": None,
            },
            meta=run_meta(run),
            codec_state=run.state,
            prior_state=None,
            source=str(run.checkpoint),
            device=device,
        )
    from sda.library.bundle import load_bundle

    codec_bundle = load_bundle(
        codec if codec is not None else resolve_codec_source(run), device="cpu"
    )
    if codec_bundle.prior is not None:
        codec_bundle.prior = (
            None  # the codec source may itself be a full bundle; use this run's prior
        )
    check_prior_matches(run, codec_bundle)
    meta = {**codec_bundle.meta, **run_meta(run)}
    meta["source"] = {**dict(codec_bundle.meta.get("source") or {}), "prior": str(run.run_dir)}
    meta["training"] = {**dict(codec_bundle.meta.get("training") or {}), "prior": run.training}
    meta.pop("id", None)
    return build_bundle(
        path=run.run_dir,
        config={**codec_bundle.config, "prior": run.hparams["prior"]},
        meta=meta,
        codec_state=None,
        codec=codec_bundle.codec,
        prior_state=run.state,
        source=str(run.checkpoint),
        device=device,
    )
