"""Add training runs to the library: a codec run (optionally with a prior run) becomes a bundle.

Training state (optimizers, discriminators, loops) is dropped; what the musician needs to know about
the model is gathered into meta.json: dataset files with hashes, metrics, descriptor normalisation,
lineage (which bundle it grew from) and versions (see `sda.library.run_logs`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from sda.errors import SdaError
from sda.library import journal
from sda.library.bundle import META_FILE, Bundle, BundleError, build_bundle, save_bundle
from sda.library.checkpoints import (
    RunCheckpoint,
    check_prior_matches,
    pair_codec,
    read_checkpoint,
    resolve_codec_source,
)
from sda.library.disk_space import check_free_space, disk_full_as_error
from sda.library.library import Library, LibraryError
from sda.library.names import name_key, validate_name
from sda.library.run_logs import dataset_summary, init_from, training_metrics

PREVIEW_SECONDS = 6.0
PREVIEW_BYTES = 2 * 1024**2  # a few seconds of OGG, generously


def lineage(run: RunCheckpoint, library: Library) -> dict[str, Any] | None:
    """Which bundle or run this codec was fine-tuned from ("grow a model"), with the parent's own
    lineage, so a chain of grown models can be traced back."""
    source, fingerprint = init_from(run)
    if not source:
        return None
    record: dict[str, Any] = {
        "init_from": source,
        "parent_id": fingerprint,
        "parent_name": Path(source).name,
    }
    candidates = [Path(source).expanduser()]
    if library.has(source):
        candidates.insert(0, library.path_of(source))
    for folder in candidates:
        meta_path = folder / META_FILE
        if meta_path.is_file():
            try:
                parent = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                break
            if not isinstance(parent, dict):  # a damaged parent's meta: its lineage is unknown
                break
            record.update(
                parent_name=parent.get("name") or record["parent_name"],
                parent_id=fingerprint or parent.get("id"),
                parent_created=parent.get("created"),
                parent_lineage=parent.get("lineage"),
            )
            break
    return record


def _write_preview(bundle, dataset: dict[str, Any], folder: Path) -> Path | None:
    """A short reconstruction of the first dataset file, as an OGG the library can play."""
    files = dataset.get("files") or []
    if not files or not dataset.get("folder"):
        return None
    source = Path(dataset["folder"]) / files[0]["name"]
    if not source.is_file():
        return None
    import torch

    from sda.audio.export import export_audio
    from sda.audio.io import load_audio

    rate, channels = bundle.codec.config.sample_rate, bundle.codec.config.channels
    try:
        audio = load_audio(source, sample_rate=rate, channels=channels)
        audio = audio[:, : int(PREVIEW_SECONDS * rate)]  # (channels, samples)
        with torch.inference_mode():
            if channels == 2:  # a stereo model previews in stereo: mid and side decoded
                from sda.models.stereo_codec import StereoCodec

                stereo = StereoCodec.of(bundle.codec)
                decoded = stereo.decode(stereo.encode(torch.from_numpy(audio)[None]))[0].numpy()
            else:
                decoded = bundle.codec(torch.from_numpy(audio)).audio[0].numpy()  # (samples,)
        layout = "stereo" if channels == 2 else "mono"
        return export_audio(
            decoded, folder / "preview.ogg", sample_rate_in=rate, format="ogg", channels=layout
        )
    except SdaError:
        return None  # the preview is a convenience; a missing one never blocks an export


def _read_runs(
    run_dir: str | os.PathLike, prior_run: str | os.PathLike | None, checkpoint: str
) -> tuple[RunCheckpoint, Bundle, RunCheckpoint | None]:
    """(codec run, its codec as a bundle, prior run or None) for `add_run`."""
    first = read_checkpoint(run_dir, checkpoint=checkpoint)
    if first.kind == "prior":
        if prior_run is not None:
            raise BundleError(
                f"{run_dir} is a prior run; give the codec run first, then --prior {prior_run}"
            )
        prior, source = first, resolve_codec_source(first)
        codec_run = read_checkpoint(source, checkpoint=checkpoint)
    else:
        source, codec_run = Path(run_dir).expanduser(), first
        # a prior run folder gives its last weights; its best.ckpt is passed as a file
        prior = read_checkpoint(prior_run, checkpoint="last") if prior_run is not None else None
        if prior is not None and prior.kind != "prior":
            raise BundleError(
                f"{prior_run} is a codec run, not a prior run; --prior takes a prior run"
            )
    codec_run, bundle = pair_codec(codec_run, source, prior, checkpoint)
    if prior is not None:
        check_prior_matches(prior, bundle)
    return codec_run, bundle, prior


def add_run(
    run_dir: str | os.PathLike,
    *,
    prior_run: str | os.PathLike | None = None,
    name: str,
    library: Library | str | os.PathLike | None = None,
    tags: list[str] | tuple[str, ...] = (),
    preview: bool = True,
    checkpoint: str = "best",
) -> Path:
    """Make a bundle from `run_dir` (a codec run, or a prior run whose codec it finds) plus
    `prior_run`, add it to `library` as `name`, and return the bundle's folder in the library.

    `checkpoint` picks the codec's weights: "best" (lowest held-out mel, falling back to the last
    ones when the run has no readable best.ckpt) or "last". meta.json records which were used.
    """
    name = validate_name(name)
    library = library if isinstance(library, Library) else Library(library)
    if any(name_key(name) == name_key(existing) for existing in library.names()):
        raise LibraryError(
            f'a bundle named "{name}" is already in the library; pick another --name'
        )
    codec_run, bundle, prior = _read_runs(run_dir, prior_run, checkpoint)
    config = dict(bundle.config)
    training = {"codec": training_metrics(codec_run)}
    meta: dict[str, Any] = {
        "name": name,
        "tags": list(tags),
        "dataset": dataset_summary(codec_run),
        "source": {"codec": str(codec_run.run_dir)},
    }
    if prior is not None:
        bundle = build_bundle(
            path=None,
            config={**config, "prior": prior.hparams["prior"]},
            meta={},
            codec_state=None,
            prior_state=prior.state,
            source=str(prior.checkpoint),
            codec=bundle.codec,
        )
        training["prior"] = training_metrics(prior)
        meta["source"]["prior"] = str(prior.run_dir)
        meta["descriptor_stats"] = prior.hparams.get("descriptor_stats") or {}
    meta["training"] = training
    meta["lineage"] = lineage(codec_run, library)

    return _save_into_library(library, bundle, meta, name, preview)


def _weights_bytes(bundle: Bundle) -> int:
    """Bytes the bundle's weights take on disk (known before anything is written)."""
    models = [bundle.codec] + ([bundle.prior] if bundle.prior is not None else [])
    return sum(
        tensor.numel() * tensor.element_size()
        for model in models
        for tensor in model.state_dict().values()
    )


def _save_into_library(
    library: Library, bundle: Bundle, meta: dict[str, Any], name: str, preview: bool
) -> Path:
    """Write the bundle in a scratch folder of the library, then add it (a rename: no copy)."""
    need = _weights_bytes(bundle) + (PREVIEW_BYTES if preview else 0)
    check_free_space(library.root, need)
    # "export" is this operation's name in the journal, kept so older journals still recover
    intent = journal.begin(library.root, "export", name=name)
    scratch = intent.scratch("export")
    try:
        with disk_full_as_error(library.root, need):
            scratch.mkdir()
            preview_path = _write_preview(bundle, meta["dataset"], scratch) if preview else None
            folder = save_bundle(
                scratch / "bundle",
                codec=bundle.codec,
                prior=bundle.prior,
                meta=meta,
                preview=preview_path,
            )
        entry = library.add(folder, name=name, move=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        intent.end(done=not scratch.exists())  # if it would not go, the next start removes it
    return library.bundles_dir / entry.name
