"""Refuse a model config too big to build, from its fields alone (no torch, nothing allocated).

A damaged or hostile `config.json` can ask for a codec of a trillion parameters; building it would
take all the memory before any other check runs. Each size field is checked against a range, then
the parameter count is estimated from the architecture and compared with a cap.
"""

from __future__ import annotations

import math
from typing import Any

from sda.errors import SdaError

MAX_PARAMETERS = 200_000_000  # per model (codec or prior); sda's largest models hold ~30 M

# field -> (lowest, highest) allowed; None = any whole number. Fields not listed are left to the
# model's own config class, which checks meanings (ranges here only keep the estimate sane).
CODEC_FIELDS: dict[str, tuple[float, float]] = {
    "sample_rate": (1, 768_000),
    "n_fft": (2, 65_536),
    "hop_length": (1, 65_536),
    "downsample": (1, 4),
    "latent_dim": (1, 16_384),
    "num_levels": (1, 64),
    "codebook_size": (2, 1 << 20),
    "encoder_dim": (1, 16_384),
    "encoder_blocks": (0, 256),
    "encoder_latent_blocks": (0, 256),
    "decoder_dim": (1, 16_384),
    "decoder_blocks": (0, 256),
    "decoder_latent_blocks": (0, 256),
    "mlp_ratio": (0.0, 64.0),
    "kernel_size": (1, 1023),
    "kmeans_iters": (0, 100_000),
    "head_upsample": (1, 4),
    "fine_time_bands": (0, 64),
}
PRIOR_FIELDS: dict[str, tuple[float, float]] = {
    "num_levels": (1, 64),
    "codebook_size": (2, 1 << 20),
    "dim": (1, 16_384),
    "layers": (1, 1024),
    "heads": (1, 1024),
    "context_frames": (1, 1 << 20),
    "num_controls": (0, 1024),
    "mlp_ratio": (0, 64),
    "control_features": (0, 4096),
}
FLOAT_FIELDS = {"mlp_ratio"}  # the codec's may be fractional; every other size is whole
CODEC_DEFAULTS = {
    "n_fft": 2048, "hop_length": 512, "downsample": 2, "latent_dim": 128, "num_levels": 8,
    "codebook_size": 256, "encoder_dim": 256, "encoder_blocks": 3, "encoder_latent_blocks": 2,
    "decoder_dim": 256, "decoder_blocks": 4, "decoder_latent_blocks": 2, "mlp_ratio": 3.0,
    "kernel_size": 7, "head_upsample": 1, "fine_time_bands": 0,
}  # fmt: skip
PRIOR_DEFAULTS = {
    "num_levels": 8, "codebook_size": 256, "dim": 256, "layers": 6, "context_frames": 256,
    "num_controls": 6, "mlp_ratio": 4, "control_features": 16,
}  # fmt: skip


class ModelSizeError(SdaError):
    """A model config with a size field out of range or too many parameters in all."""


def check_model_config(kind: str, config: Any, source: str) -> int:
    """Check the `kind` ("codec"/"prior") config's size fields; return the estimated parameters."""
    if not isinstance(config, dict):
        raise ModelSizeError(f"{source}: the {kind} config is not a JSON object")
    ranges, defaults = (
        (CODEC_FIELDS, CODEC_DEFAULTS) if kind == "codec" else (PRIOR_FIELDS, PRIOR_DEFAULTS)
    )
    for key, (low, high) in ranges.items():
        if key in config:
            _check_field(kind, key, config[key], low, high, source)
    estimate = ESTIMATORS[kind]
    values = {**defaults, **{k: v for k, v in config.items() if k in ranges}}
    total = estimate(values)
    if total > MAX_PARAMETERS:
        # Name the setting that, back at its usual value, would shrink the model most.
        biggest = min(ranges, key=lambda k: estimate({**values, k: defaults.get(k, values.get(k))}))
        raise ModelSizeError(
            f"{source}: the {kind} config asks for ~{_count(total)} parameters, over the cap of "
            f"{_count(MAX_PARAMETERS)}; its largest setting is {biggest}={values.get(biggest)!r}. "
            "The bundle is damaged or not made by sda"
        )
    return total


def _check_field(kind: str, key: str, value: Any, low: float, high: float, source: str) -> None:
    whole = isinstance(value, int) and not isinstance(value, bool)
    number = whole or (key in FLOAT_FIELDS and isinstance(value, float) and math.isfinite(value))
    if not number or not low <= value <= high:
        wanted = "a number" if key in FLOAT_FIELDS else "a whole number"
        raise ModelSizeError(
            f"{source}: the {kind} setting {key} must be {wanted} in {low:g}..{high:g}, "
            f"got {value!r:.40}"
        )


def _convnext(dim: int, blocks: int, mlp_ratio: float, kernel: int) -> int:
    hidden = int(dim * mlp_ratio)
    return blocks * (dim * (kernel + 5) + hidden * (2 * dim + 1))


def codec_parameters(c: dict[str, Any]) -> int:
    """About how many weights (and saved buffers) a codec with these settings holds."""
    enc, dec, lat = c["encoder_dim"], c["decoder_dim"], c["latent_dim"]
    ratio, kernel, down, up = c["mlp_ratio"], c["kernel_size"], c["downsample"], c["head_upsample"]
    encoder = (
        (c["n_fft"] // 2 + 1 + 8 * c["fine_time_bands"]) * enc  # 8: fine_time.SUB_FRAMES
        + _convnext(enc, c["encoder_blocks"] + c["encoder_latent_blocks"], ratio, kernel)
        + (2 * down * enc * enc if down > 1 else 0)
        + enc * lat
    )
    codebooks = c["num_levels"] * c["codebook_size"] * (2 * lat + 1)  # codes + EMA statistics
    decoder = (
        lat * dec * kernel
        + _convnext(dec, c["decoder_blocks"] + c["decoder_latent_blocks"], ratio, kernel)
        + (down * dec * dec if down > 1 else 0)
        + (up * dec * dec if up > 1 else 0)
        + dec * (c["n_fft"] // max(up, 1) + 2)
    )
    return int(encoder + codebooks + decoder)


def prior_parameters(p: dict[str, Any]) -> int:
    """About how many weights a prior with these settings holds."""
    dim, levels, size = p["dim"], p["num_levels"], p["codebook_size"]
    embeddings = levels * (size + 2) * dim + (p["context_frames"] + levels) * dim
    blocks = p["layers"] * dim * dim * (8 + 2 * p["mlp_ratio"])
    controls = p["num_controls"] * (p["control_features"] + 2) * dim + dim * dim
    head = 2 * dim * dim + dim * levels * size
    return int(embeddings + blocks + controls + head)


ESTIMATORS = {"codec": codec_parameters, "prior": prior_parameters}


def _count(n: int) -> str:
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)
