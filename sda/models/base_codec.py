"""The base codec: the model's "ears", trained on free sound and shipped with the package.

`sda-train` starts every new codec from its encoder and decoder (`init_from=base`, the default),
so a few minutes on a handful of files fine-tune a decoder that has already heard hours of
varied sound. scripts/train_base_codec.py makes the weights; sda/assets/BASE_CODEC.md is the card.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from sda.errors import SdaError
from sda.models.codec import Codec, CodecConfig, CodecError

FILE_NAME = "base_codec.safetensors"
FORMAT = "sda-base-codec-1"
# settings that belong to the codebooks: a fine-tune picks its own (k-means on the user's audio)
QUANTIZER_SETTINGS = ("codebook_size", "ema_decay", "kmeans_iters", "rotation_trick")
STEREO_SETTINGS = ("channels", "side_gain", "side_levels", "side_direction")


class BaseCodecError(SdaError):
    """The shipped base codec is missing, damaged, or does not fit the codec being trained."""


def base_codec_path() -> Path:
    return Path(str(resources.files("sda") / "assets" / FILE_NAME))


def _missing(path: Path, reason: str) -> BaseCodecError:
    return BaseCodecError(
        f"the base codec {path} {reason}: reinstall sda (pip install -e .), rebuild it with "
        "scripts/train_base_codec.py, or train from scratch with init_from=none"
    )


def load_base_codec(path: str | Path | None = None) -> tuple[Codec, dict[str, str]]:
    """The base codec's encoder and decoder (fp16 on disk, float32 here; the file holds no
    codebooks: each fine-tune seeds its own) and the file's metadata (steps, corpus, config)."""
    path = Path(path) if path is not None else base_codec_path()
    if not path.is_file():
        raise _missing(path, "is not installed")
    try:
        with safe_open(str(path), framework="pt") as handle:  # one read: header, then tensors
            metadata = dict(handle.metadata() or {})
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise _missing(path, f"cannot be read ({error})") from error
    if metadata.get("format") != FORMAT:
        raise _missing(path, f"is not an sda base codec (format {metadata.get('format')!r})")
    try:
        config = CodecConfig.from_dict(json.loads(metadata["config"]))
        codec = Codec(config)
        for part in ("encoder", "decoder"):
            prefix = part + "."
            weights = {
                k[len(prefix) :]: v.float() for k, v in state.items() if k.startswith(prefix)
            }
            getattr(codec, part).load_state_dict(weights)  # strict: every weight, no strays
    except (KeyError, ValueError, TypeError, RuntimeError, CodecError) as error:
        raise _missing(path, f"is damaged ({type(error).__name__}: {error})") from error
    return codec.eval(), metadata


def save_base_codec(codec: Codec, path: str | Path, **metadata: str) -> Path:
    """Write `codec`'s encoder and decoder as fp16 safetensors with its config, atomically;
    the file is read back before it replaces `path` (a file that does not load is never shipped)."""
    path = Path(path)
    state = {
        key: tensor.detach().to("cpu").half().contiguous()
        for key, tensor in codec.state_dict().items()
        if key.startswith(("encoder.", "decoder."))
    }
    info = {
        **metadata,
        "format": FORMAT,
        "config": json.dumps(asdict(codec.config), sort_keys=True),
    }
    partial = path.with_name(path.name + ".partial")
    save_file(state, str(partial), metadata=info)
    load_base_codec(partial)
    partial.replace(path)
    return path


def check_fits(base: CodecConfig, wanted: CodecConfig) -> None:
    """Refuse to start `wanted` from `base` unless everything but the codebooks matches; a base
    without fine-time envelopes may start a codec that adds them (`start_from_base` widens), and
    a base with learned phases one whose phases come from its magnitudes (the same weights)."""
    may_add = {
        "fine_time_bands": base.fine_time_bands == 0,
        "head_phase": base.head_phase == "learned",
    }
    different = sorted(
        key
        for key, value in asdict(replace(wanted, **_quantizer_of(base))).items()
        if asdict(base)[key] != value and not may_add.get(key, False)
    )
    if different:
        raise BaseCodecError(
            "the base codec was trained with other settings than this codec "
            f"({', '.join(f'{k}: {asdict(base)[k]} vs {asdict(wanted)[k]}' for k in different)}): "
            "use the recipe's model (drop the model overrides) or train from scratch with "
            "init_from=none"
        )


def _quantizer_of(config: CodecConfig) -> dict:
    # the stereo layout is not a shape either: a stereo codec is the same network on mid and side
    return {key: getattr(config, key) for key in QUANTIZER_SETTINGS + STEREO_SETTINGS}


def start_from_base(codec: Codec, base: Codec) -> None:
    """Copy the base's encoder and decoder into `codec`; its codebooks stay to be seeded.

    When `codec` adds fine-time envelopes the base lacks, their input weights start at zero: the
    codec starts out computing exactly what the base does and learns to use them."""
    check_fits(base.config, codec.config)
    encoder = dict(base.encoder.state_dict())
    wanted = codec.encoder.embed.weight
    if wanted.shape != encoder["embed.weight"].shape:
        widened = torch.zeros_like(wanted)
        widened[:, : encoder["embed.weight"].shape[1]] = encoder["embed.weight"]
        encoder["embed.weight"] = widened
    with torch.no_grad():
        codec.encoder.load_state_dict(encoder)
        codec.decoder.load_state_dict(base.decoder.state_dict())
