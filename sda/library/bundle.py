"""Model bundles: a folder holding a trained codec (and optionally its prior) ready for inference.

Layout: `codec.safetensors`, `prior.safetensors` (optional), `config.json` (the resolved model
configs), `meta.json` (name, created, tags, dataset, training metrics, descriptor stats, versions),
`preview.ogg` (optional). Loading never unpickles: weights are safetensors, and training runs are
read with `torch.load(weights_only=True)` (see `sda.library.checkpoints`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sda.errors import SdaError
from sda.library.errors import LibraryError
from sda.library.weights_header import WeightsHeaderError, check_tensor_entries

if TYPE_CHECKING:
    import torch

    from sda.models.codec import Codec
    from sda.models.prior import Prior
    from sda.models.stereo_codec import StereoCodec

BUNDLE_FORMAT = "sda-bundle"
BUNDLE_VERSION = 1
CODEC_FILE = "codec.safetensors"
PRIOR_FILE = "prior.safetensors"
CONFIG_FILE = "config.json"
META_FILE = "meta.json"
PREVIEW_FILE = "preview.ogg"
BUNDLE_FILES = (CODEC_FILE, PRIOR_FILE, CONFIG_FILE, META_FILE, PREVIEW_FILE)

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit
MAX_JSON_BYTES = 64 * 1024**2  # config.json or meta.json (a dataset list of ~100k files)


class BundleError(LibraryError):
    """A bundle (or training run) that cannot be loaded or saved: missing, damaged, incompatible."""


@dataclass
class Bundle:
    """A loaded model: the codec, the prior when the bundle has one, and what is known about them."""

    path: Path | None
    meta: dict[str, Any]
    config: dict[str, Any]  # {"format", "version", "codec": {...}, "prior": {...} | None}
    codec: Codec
    prior: Prior | None = None
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.meta.get("name"):
            return str(self.meta["name"])
        return self.path.name if self.path is not None else "unnamed"

    @cached_property
    def id(self) -> str:
        """The codec's fingerprint (16 hex chars); equals `Codes.bundle_id` of codes it made."""
        return self._fingerprint or self.codec.fingerprint()

    @property
    def descriptor_stats(self) -> dict[str, list[float]]:
        """Per-control [low, high] used to normalise descriptors to 0..1 (empty without a prior)."""
        return dict(self.meta.get("descriptor_stats") or {})

    @property
    def has_prior(self) -> bool:
        return self.prior is not None

    @property
    def channels(self) -> int:
        """2 for a model trained on stereo (mid/side, `sda.models.stereo_codec`), else 1."""
        return int(getattr(self.codec.config, "channels", 1))

    @property
    def side_gain(self) -> float:
        return float(self.codec.config.side_gain)

    @property
    def side_levels(self) -> int:
        """Side levels a stereo model keeps (every level when its config says 0)."""
        return int(self.codec.config.side_levels or self.codec.config.num_levels)

    @cached_property
    def stereo(self) -> StereoCodec:
        """The codec as a `StereoCodec` with this model's side gain and levels (stereo models)."""
        from sda.models.stereo_codec import StereoCodec

        if self.channels != 2:
            raise BundleError(f"{self.name} is a mono model; it has no side grid")
        return StereoCodec.of(self.codec)


# ----------------------------------------------------------------------------- file checks (no torch)


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """Parse and check a safetensors header without torch: catches pickles, truncation, garbage."""
    path = Path(path)
    what = f"{path}"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if head[:1] == b"\x80" or head[:2] == b"PK":
                raise BundleError(
                    f"{what} is a pickled PyTorch file, not safetensors; sda never loads pickles from "
                    "bundles because they can run code. Re-create the bundle with `sda library add`"
                )
            if len(head) < 8:
                raise BundleError(
                    f"{what} is empty or truncated; re-export or re-import the bundle"
                )
            header_len = int.from_bytes(head, "little")
            if header_len <= 1 or header_len > min(_MAX_HEADER_BYTES, size - 8):
                raise BundleError(
                    f"{what} is not a safetensors weights file (or is truncated); "
                    "re-export or re-import the bundle"
                )
            header = json.loads(handle.read(header_len).decode("utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{what} is missing; the bundle is incomplete, re-export it") from None
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, numbers of 5000 digits, deep nesting
        raise BundleError(
            f"{what} has a damaged header; re-export or re-import the bundle"
        ) from None
    if not isinstance(header, dict):
        raise BundleError(f"{what} has a damaged header; re-export or re-import the bundle")
    try:
        data_end = max(
            (int(info["data_offsets"][1]) for key, info in header.items() if key != "__metadata__"),
            default=0,
        )
    except (KeyError, TypeError, ValueError, IndexError):
        raise BundleError(
            f"{what} has a damaged header; re-export or re-import the bundle"
        ) from None
    expected = 8 + header_len + data_end
    if size < expected:
        raise BundleError(
            f"{what} is truncated ({size} of {expected} bytes); the copy or download was cut short, "
            "copy the bundle again"
        )
    if size > expected:
        raise BundleError(
            f"{what} has {size - expected} unexpected trailing bytes; copy the bundle again"
        )
    try:  # every tensor's dtype, shape and byte range, before the loader trusts them
        check_tensor_entries(header, size - 8 - header_len)
    except WeightsHeaderError as error:
        raise BundleError(
            f"{what} has a damaged header ({error}); re-export or re-import the bundle"
        ) from None
    return header


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    """A bundle's JSON object, its size checked before it is read; any damage is a BundleError."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_JSON_BYTES:
            raise BundleError(
                f"{path}: the {what} is {size:,} bytes, over the {MAX_JSON_BYTES:,} a bundle's "
                "JSON may hold; the bundle is damaged"
            )
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path} is missing; this folder is not a complete bundle") from None
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, 5,000-digit numbers, deep nesting
        raise BundleError(f"{path}: the {what} is not valid JSON; the bundle is damaged") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path}: the {what} should be a JSON object; the bundle is damaged")
    return data


def check_bundle_folder(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a bundle folder's files without loading torch; return (config, meta)."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"{path} is not a bundle folder")
    config = read_json_file(path / CONFIG_FILE, "model config")
    if config.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path / CONFIG_FILE} is not an sda bundle config")
    version = config.get("version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(
            f"{path / CONFIG_FILE} has no valid format version; the bundle is damaged"
        )
    if version > BUNDLE_VERSION:
        raise BundleError(
            f"{path} was made by a newer sda (bundle format {version}, this sda reads up to "
            f"{BUNDLE_VERSION}); upgrade sda to load it"
        )
    if not isinstance(config.get("codec"), dict):
        raise BundleError(f"{path / CONFIG_FILE} has no codec config; the bundle is damaged")
    check_model_sizes(config, str(path / CONFIG_FILE))
    meta = read_json_file(path / META_FILE, "bundle description")
    read_safetensors_header(path / CODEC_FILE)
    if config.get("prior") is not None:
        read_safetensors_header(path / PRIOR_FILE)
    return config, meta


def check_model_sizes(config: dict[str, Any], source: str) -> None:
    """Refuse configs whose models would be absurdly large, before anything is built."""
    from sda.library.model_size import ModelSizeError, check_model_config

    try:
        for kind in ("codec", "prior"):
            if config.get(kind) is not None:
                check_model_config(kind, config[kind], source)
    except ModelSizeError as error:
        raise BundleError(str(error)) from None


def is_bundle_folder(path: Path) -> bool:
    return (Path(path) / CONFIG_FILE).is_file() and (Path(path) / CODEC_FILE).exists()


# ----------------------------------------------------------------------------- building models


def _build(kind: str, config: dict[str, Any], state: dict[str, torch.Tensor], source: str):
    """Instantiate the codec or prior from its config dict and load `state` strictly."""
    if kind == "codec":
        from sda.models.codec import Codec as model_cls
        from sda.models.codec import CodecConfig as config_cls
    else:
        from sda.models.prior import Prior as model_cls
        from sda.models.prior import PriorConfig as config_cls
    check_model_sizes({kind: config}, source)  # runs are built here too, not only bundles
    try:
        make = getattr(config_cls, "from_dict", None) or (lambda values: config_cls(**values))
        model_config = make(config)
    except (TypeError, ValueError, SdaError) as error:
        raise BundleError(
            f"{source}: the {kind} config does not fit this sda version ({error}); "
            "use the sda version that made it or re-export"
        ) from None
    model = model_cls(model_config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{key} {tuple(state[key].shape)} instead of {tuple(expected[key].shape)}"
        for key in expected
        if key in state and tuple(state[key].shape) != tuple(expected[key].shape)
    ]
    if missing or unexpected or wrong:
        problems = []
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        ):
            if items:
                more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
                problems.append(f"{label}: {', '.join(items[:3])}{more}")
        raise BundleError(
            f"{source}: the {kind} weights do not match its config ({'; '.join(problems)}); "
            "the bundle is damaged or from another sda version, re-export it"
        )
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_weights_file(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    read_safetensors_header(path)
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise BundleError(
            f"{path} cannot be read ({error}); copy or re-export the bundle"
        ) from None


def build_bundle(
    *,
    path: Path | None,
    config: dict[str, Any],
    meta: dict[str, Any],
    codec_state: dict[str, torch.Tensor] | None,
    prior_state: dict[str, torch.Tensor] | None,
    source: str,
    device: str = "cpu",
    codec: Codec | None = None,
) -> Bundle:
    """Models from configs + state dicts (or an already built `codec`), checked against each other
    and against meta's recorded id."""
    if codec is None:
        codec = _build("codec", config["codec"], codec_state or {}, source)
    prior = None
    if prior_state is not None:
        if not isinstance(config.get("prior"), dict):
            raise BundleError(
                f"{source}: prior weights without a prior config; re-export the bundle"
            )
        prior = _build("prior", config["prior"], prior_state, source)
        expected = {"num_levels": codec.config.grid_levels, "codebook_size": None}
        for key, theirs in expected.items():  # a stereo model's prior reads mid + side rows
            mine = config["prior"].get(key)
            theirs = theirs if theirs is not None else config["codec"].get(key)
            if mine is not None and theirs is not None and mine != theirs:
                raise BundleError(
                    f"{source}: the prior expects {key}={mine} but the codec has {theirs}; "
                    "the prior was trained on another codec"
                )
    fingerprint = codec.fingerprint()
    trained_on = (config.get("prior") or {}).get("codec_fingerprint") if prior is not None else None
    if trained_on and trained_on != fingerprint:
        raise BundleError(
            f"{source}: the prior was trained on codec {trained_on}, not on this bundle's codec "
            f"{fingerprint}; pair each prior with the codec it was trained on"
        )
    recorded = meta.get("id")
    if recorded and recorded != fingerprint:
        raise BundleError(
            f"{source}: the codec weights do not match the bundle's recorded id ({recorded} vs "
            f"{fingerprint}); the weights were changed or damaged, re-export the bundle"
        )
    codec.to(device)
    if prior is not None:
        prior.to(device)
    return Bundle(
        path=path, meta=meta, config=config, codec=codec, prior=prior, _fingerprint=fingerprint
    )


# ----------------------------------------------------------------------------- save / load


def _state_for_saving(module) -> dict[str, torch.Tensor]:
    # Clones break storage sharing (tied weights), which safetensors refuses to write.
    return {
        key: value.detach().to("cpu").contiguous().clone()
        for key, value in module.state_dict().items()
    }


def versions() -> dict[str, str]:
    import importlib.metadata

    import torch

    try:
        sda_version = importlib.metadata.version("sda")
    except importlib.metadata.PackageNotFoundError:
        sda_version = "unknown"
    return {"sda": sda_version, "torch": torch.__version__, "python": platform.python_version()}


def save_bundle(
    path: str | os.PathLike,
    *,
    codec: Codec,
    prior: Prior | None = None,
    meta: dict[str, Any] | None = None,
    preview: str | os.PathLike | None = None,
) -> Path:
    """Write a bundle folder at `path` (must not exist yet); all files appear at once or not at all."""
    from safetensors.torch import save_file

    from sda.atomic_files import fsync_dir

    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BundleError(f"{path} already exists; pick another folder or name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tag = {"format": BUNDLE_FORMAT, "version": str(BUNDLE_VERSION)}
        save_file(
            _state_for_saving(codec), str(tmp / CODEC_FILE), metadata={**tag, "part": "codec"}
        )
        prior_config = None
        if prior is not None:
            save_file(
                _state_for_saving(prior), str(tmp / PRIOR_FILE), metadata={**tag, "part": "prior"}
            )
            prior_config = asdict(prior.config)
        config = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "codec": asdict(codec.config),
            "prior": prior_config,
        }
        full_meta = {
            "name": path.name,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "tags": [],
            **(meta or {}),
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "id": codec.fingerprint(),
            "has_prior": prior is not None,
            "versions": {**versions(), **dict((meta or {}).get("versions") or {})},
        }
        for name, data in ((CONFIG_FILE, config), (META_FILE, full_meta)):
            (tmp / name).write_text(
                json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        if preview is not None:
            shutil.copyfile(preview, tmp / PREVIEW_FILE)
        for child in tmp.iterdir():
            with child.open("rb") as handle:
                os.fsync(handle.fileno())
        if path.exists():
            path.rmdir()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_bundle_folder(path: str | os.PathLike, *, device: str = "cpu") -> Bundle:
    """Load a bundle folder (training runs load through `sda.library.loading.load_bundle`)."""
    path = Path(path).expanduser()
    config, meta = check_bundle_folder(path)
    codec_state = load_weights_file(path / CODEC_FILE)
    prior_state = load_weights_file(path / PRIOR_FILE) if config.get("prior") is not None else None
    return build_bundle(
        path=path,
        config=config,
        meta=meta,
        codec_state=codec_state,
        prior_state=prior_state,
        source=str(path),
        device=device,
    )
