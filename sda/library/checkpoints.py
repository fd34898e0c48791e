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

from sda.library.bundle import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    CONFIG_FILE,
    Bundle,
    BundleError,
    build_bundle,
    load_bundle_folder,
)

if TYPE_CHECKING:
    import torch

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
BEST_CHECKPOINT = Path("checkpoints") / "best.ckpt"  # a codec run's lowest held-out mel so far
CHECKPOINT_CHOICES = ("best", "last")


@dataclass
class RunCheckpoint:
    """What a training run holds that a bundle needs."""

    run_dir: Path
    checkpoint: Path
    kind: str  # "codec" or "prior"
    hparams: dict[str, Any]
    state: dict[str, torch.Tensor]  # model weights, the "codec." / "prior." prefix stripped
    training: dict[str, Any] = field(default_factory=dict)  # step, epoch, metrics, which weights
    note: str | None = None  # why these weights and not the ones asked for


def find_checkpoint(run: Path) -> tuple[Path, Path]:
    """(run_dir, checkpoint file) for a run folder or a .ckpt file: the folder's last weights."""
    run = Path(run).expanduser()
    if run.is_file():
        return (run.parent.parent if run.parent.name == "checkpoints" else run.parent), run
    last = run / LAST_CHECKPOINT
    if last.is_file():
        return run, last
    # the newest step file; best.ckpt only when nothing else is left (it is often the newest file
    # but holds older weights)
    others = sorted(
        (run / "checkpoints").glob("*.ckpt"),
        key=lambda p: (p.name != BEST_CHECKPOINT.name, p.stat().st_mtime),
    )
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


def _read(run_dir: Path, path: Path) -> RunCheckpoint:
    """One checkpoint file, refused with a `BundleError` when damaged, unsafe or not sda's."""
    import torch

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
    run = RunCheckpoint(
        run_dir=run_dir,
        checkpoint=path,
        kind=kind,
        hparams=hparams,
        state=state,
        training=_training_info(ckpt),
    )
    run.training["checkpoint"] = checkpoint_label(run)
    return run


def checkpoint_label(run: RunCheckpoint) -> str:
    """Which weights these are, for meta.json: "best (step 1200, held-out mel 0.4712)"."""
    which = {"best.ckpt": "best", "last.ckpt": "last"}.get(run.checkpoint.name, run.checkpoint.name)
    details = []
    if isinstance(run.training.get("global_step"), int):
        details.append(f"step {run.training['global_step']}")
    mel = (run.training.get("metrics") or {}).get("best val/mel_distance")
    if which == "best" and mel is not None:
        details.append(f"held-out mel {mel:.4f}")
    return f"{which} ({', '.join(details)})" if details else which


def read_checkpoint(run: str | os.PathLike, *, checkpoint: str = "best") -> RunCheckpoint:
    """A run's weights and settings, from a run folder or a .ckpt file.

    For a codec run folder, `checkpoint="best"` takes checkpoints/best.ckpt (the lowest held-out
    mel) when it is readable, else the last weights, saying why in `note`. A prior run folder
    gives its last weights either way (its best.ckpt is exported by naming the file).
    """
    if checkpoint not in CHECKPOINT_CHOICES:
        raise BundleError(f'checkpoint must be "best" or "last", not "{checkpoint}"')
    path = Path(run).expanduser()
    note = None
    if checkpoint == "best" and path.is_dir():
        best = path / BEST_CHECKPOINT
        if not best.is_file():
            note = (
                f"{path} has no {BEST_CHECKPOINT} (trained before best weights were kept, or never "
                "validated), so its last weights were used"
            )
        else:
            try:
                chosen = _read(path, best)
            except BundleError as error:  # e.g. truncated by a kill during the save
                note = f"{best} could not be read, so the last weights were used instead: {error}"
            else:
                if chosen.kind == "codec":
                    return chosen  # a prior run's best.ckpt is passed over: last is its default
    chosen, fallback = _read_last(path)
    notes = [n for n in (note if chosen.kind == "codec" else None, fallback) if n]
    if notes:
        chosen.note = "; ".join(notes)
        chosen.training["checkpoint_note"] = chosen.note
    return chosen


def _read_last(path: Path) -> tuple[RunCheckpoint, str | None]:
    """The run's last weights, and a note when they come from a step checkpoint: a crash while
    saving can leave last.ckpt truncated, and training then resumes from the newest readable step
    file, so export takes the same one."""
    run_dir, last = find_checkpoint(path)
    try:
        return _read(run_dir, last), None
    except BundleError as error:
        if not path.is_dir() or last != run_dir / LAST_CHECKPOINT:
            raise  # a file named by the user is read as it is
        damaged = error
    steps = sorted(
        (p for p in last.parent.glob("*.ckpt") if p.name not in (last.name, BEST_CHECKPOINT.name)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for step in steps:
        try:
            chosen = _read(run_dir, step)
        except BundleError:
            continue
        return chosen, (
            f"{last} could not be read (cut short by a crash while saving?), so the newest "
            f"readable step checkpoint, {step.name}, was used instead"
        )
    raise damaged


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
        "pass the codec run explicitly: sda library add CODEC_RUN --prior PRIOR_RUN"
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


def codec_bundle(
    run: RunCheckpoint,
    *,
    path: Path | None = None,
    meta: dict[str, Any] | None = None,
    device: str = "cpu",
) -> Bundle:
    """The codec of a codec run as a `Bundle` (no prior)."""
    return build_bundle(
        path=path,
        config={
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "codec": run.hparams["codec"],
            "prior": None,
        },
        meta=meta or {},
        codec_state=run.state,
        prior_state=None,
        source=str(run.checkpoint),
        device=device,
    )


def pair_codec(
    codec_run: RunCheckpoint, source: Path, prior: RunCheckpoint | None, checkpoint: str
) -> tuple[RunCheckpoint, Bundle]:
    """`codec_run` and its codec; with a prior trained on the run's other weights (best vs last),
    those instead, saying so in `note`: a prior only works with the codec whose codes it learned."""
    bundle = codec_bundle(codec_run)
    expected = prior.hparams.get("codec_fingerprint") if prior is not None else None
    if not expected or expected == bundle.id or not Path(source).is_dir():
        return codec_run, bundle
    other = "last" if checkpoint == "best" else "best"
    try:
        alternative = read_checkpoint(source, checkpoint=other)
        if alternative.kind != "codec" or alternative.checkpoint == codec_run.checkpoint:
            return codec_run, bundle
        alternative_bundle = codec_bundle(alternative)
    except BundleError:
        return codec_run, bundle  # check_prior_matches then explains the mismatch
    if alternative_bundle.id != expected:
        return codec_run, bundle
    alternative.note = (
        f"the prior in {prior.run_dir} was trained on the codec's {other} weights, so those were "
        f"used instead of the {checkpoint} ones"
    )
    alternative.training["checkpoint_note"] = alternative.note
    return alternative, alternative_bundle


def load_run(
    path: str | os.PathLike, *, device: str = "cpu", codec: str | os.PathLike | None = None
) -> Bundle:
    """A `Bundle` straight from a codec run (its best weights, as `sda library add` takes them),
    or from a prior run plus the codec it names (a bundle folder, a codec run or a checkpoint)."""
    run = read_checkpoint(path)
    if run.kind == "codec":
        return codec_bundle(run, path=run.run_dir, meta=run_meta(run), device=device)
    source = Path(codec).expanduser() if codec is not None else resolve_codec_source(run)
    if (source / CONFIG_FILE).is_file():
        codec_side = load_bundle_folder(source, device="cpu")
    elif source.is_dir():  # a codec run
        codec_run, codec_side = pair_codec(read_checkpoint(source), source, run, "best")
        codec_side.meta = run_meta(codec_run)
    else:  # a checkpoint file, read as it is
        codec_side = load_run(source, device="cpu")
    if codec_side.prior is not None:
        codec_side.prior = None  # the codec source may itself be a full bundle; use this prior
    check_prior_matches(run, codec_side)
    meta = {**codec_side.meta, **run_meta(run)}
    meta["source"] = {**dict(codec_side.meta.get("source") or {}), "prior": str(run.run_dir)}
    meta["training"] = {**dict(codec_side.meta.get("training") or {}), "prior": run.training}
    meta.pop("id", None)
    return build_bundle(
        path=run.run_dir,
        config={**codec_side.config, "prior": run.hparams["prior"]},
        meta=meta,
        codec_state=None,
        codec=codec_side.codec,
        prior_state=run.state,
        source=str(run.checkpoint),
        device=device,
    )
