"""Between sounds and code grids: encode audio into `Codes` and decode them (optionally with only
the first k levels) into a `Take`, always with the model that made the codes.

`model` arguments take a loaded `Bundle` (preferred: its id is computed once) or a bare `Codec`.
A stereo model (`channels == 2`) reads files as stereo and gives them a mid and a side grid
(`sda.dna.stereo_bridge`); its codes decode to (2, samples). Mono models work as they always did.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.decode import decode_codes
from sda.dna.errors import CodesError
from sda.dna.stereo_bridge import decode_stereo, encode_stereo, model_channels
from sda.dna.take import Take

if TYPE_CHECKING:
    from sda.library import Bundle
    from sda.models.codec import Codec


def _device(codec: Codec) -> torch.device:
    return next(codec.parameters()).device


def to_tensor(codec: Codec, indices: np.ndarray) -> torch.Tensor:
    """A (levels, frames) grid as the codec's (1, levels, frames) long tensor."""
    return torch.as_tensor(np.asarray(indices, dtype=np.int64), device=_device(codec))[None]


def encode_audio(model: Bundle | Codec, audio: np.ndarray, *, source: str | None = None) -> Codes:
    """Encode mono model-rate audio, (samples,) or (1, samples) float32, into its code grid."""
    codec, model_id, name = model_parts(model)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2 and audio.shape[0] == 1:
        audio = audio[0]
    if audio.ndim != 1 or audio.size == 0:
        raise CodesError(
            f"expected mono audio of shape (samples,), got {audio.shape}; "
            "load it with sda.audio.io.load_audio(path, channels=1)"
        )
    with torch.inference_mode():
        codes = codec.encode(
            torch.from_numpy(audio).to(_device(codec))[None]
        )  # (1, levels, frames)
    operation: dict[str, Any] = {"op": "encode", "model": name, "samples": int(audio.size)}
    if source is not None:
        operation["source"] = source
    return Codes(
        indices=codes[0].cpu().numpy(),
        bundle_id=model_id,
        frame_rate=float(codec.config.frame_rate),
        codebook_size=int(codec.config.codebook_size),
        provenance={"sources": [source] if source else [], "operations": [operation]},
    )


def encode_file(model: Bundle | Codec, path: str | os.PathLike) -> Codes:
    """Load any audio file sda can read at the model rate and encode it: mixed to mono for a mono
    model; as stereo for a stereo model (a mono file centred, L = R; more channels folded to two),
    its own channel count kept as `input_channels` in the encode step (`centred_input`)."""
    from sda.audio.io import load_audio

    codec = model_parts(model)[0]
    rate = codec.config.sample_rate
    if model_channels(model) == 1:
        audio = load_audio(path, sample_rate=rate, channels=1)
        return encode_audio(model, audio, source=Path(path).name)
    audio, channels = _load_stereo(path, rate)
    codes = encode_stereo(model, audio, source=Path(path).name)
    operation = {**codes.provenance["operations"][0], "input_channels": channels}
    return codes.with_indices(codes.indices, operations=[operation])


def _load_stereo(path: str | os.PathLike, rate: int) -> tuple[np.ndarray, int]:
    """(2, samples) at `rate` and the file's own channel count."""
    from sda.audio.dsp import resample
    from sda.audio.io import convert_channels, decode_audio

    decoded = decode_audio(path)
    audio = convert_channels(decoded.audio, 2)
    if decoded.sample_rate != rate:
        audio = resample(audio, decoded.sample_rate, rate)
    return audio, int(decoded.channels)


def input_channels(codes: Codes) -> int | None:
    """The channel count of the file stereo codes were encoded from (None: not recorded)."""
    operations = codes.provenance.get("operations") or [{}]
    channels = operations[0].get("input_channels") if isinstance(operations[0], dict) else None
    return channels if codes.channels == 2 and isinstance(channels, int) else None


def layout_note(codes: Codes, name: str) -> str | None:
    """A line for the musician when a stereo model changed a file's layout: a mono file is coded
    centred (no width), more than two channels are folded to left and right."""
    channels = input_channels(codes)
    if channels == 1:
        return f"{name} is mono; coded as centred stereo (no side)"
    if channels is not None and channels > 2:
        return f"{name} has {channels} channels; folded to stereo (channels 1, 3... left; 2, 4... right)"
    return None


def load_codes_or_audio(model: Bundle | Codec, path: str | os.PathLike) -> Codes:
    """A `.sdacodes` file or an explorer session's current grid (checked against the model), or an
    audio file (encoded on the fly)."""
    from sda.audio.io import AUDIO_EXTENSIONS
    from sda.dna.codes import SUFFIX
    from sda.dna.session import SUFFIX as SESSION_SUFFIX
    from sda.dna.session import load_grid

    path = Path(path)
    if path.suffix.lower() in (SUFFIX, SESSION_SUFFIX):
        codes = load_grid(path)
        check_codes(model, codes, what=f"the codes in {path}")
        return codes
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        if not path.is_file():
            raise CodesError(f"{path}: no such audio file")
        return encode_file(model, path)
    raise CodesError(
        f"{path}: expected a codes file ({SUFFIX}), an explorer session ({SESSION_SUFFIX}) "
        f"or an audio file ({', '.join(sorted(AUDIO_EXTENSIONS))})"
    )


def save_codes_or_audio(
    model: Bundle | Codec,
    codes: Codes,
    path: str | os.PathLike,
    *,
    levels: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write codes (`.sdacodes`) or decode and export audio, chosen by the file's suffix."""
    from sda.audio.export import export_audio
    from sda.dna.codes import SUFFIX

    path = Path(path)
    if path.exists() and not overwrite:
        raise CodesError(f"{path} already exists; choose another name or pass --overwrite")
    if path.suffix.lower() == SUFFIX:
        check_codes(model, codes)
        return codes.save(path)
    if not path.suffix:
        raise CodesError(f"{path}: add a suffix: {SUFFIX} for codes, or .wav/.flac/.ogg/.mp3")
    take = decode_take(model, codes, levels=levels)
    return export_audio(
        take.audio,
        path,
        sample_rate_in=take.sample_rate,
        format=path.suffix[1:].lower(),
        channels="stereo" if take.audio.ndim == 2 else "mono",  # as the sound is
        overwrite=overwrite,
    )


def decode(model: Bundle | Codec, codes: Codes, *, levels: int | None = None) -> np.ndarray:
    """Audio of a grid at the model rate, using its first `levels` levels: (samples,) float32 for
    mono codes, (2, samples) left and right for stereo codes (mid and side grids).

    Long grids decode in crossfaded windows (`sda.dna.decode.decode_codes`), so memory stays
    flat. Decoding is deterministic: the same grid always gives the same samples.
    """
    if levels is not None and not 1 <= levels <= codes.levels:
        raise CodesError(f"can decode with 1..{codes.levels} levels, not {levels}")
    if codes.channels == 2:
        return decode_stereo(model, codes, levels=levels)
    return decode_codes(model, codes, levels=levels)


def decode_take(model: Bundle | Codec, codes: Codes, *, levels: int | None = None) -> Take:
    """`decode`, kept with its codes as a `Take` for players and exports (decoded once)."""
    audio = decode(model, codes, levels=levels)
    rate = int(model_parts(model)[0].config.sample_rate)
    operations = list(codes.provenance.get("operations", []))
    if levels is not None:  # a partial decode is part of how the sound was made
        operations.append({"op": "decode", "levels": int(levels)})
    provenance = {**codes.provenance, "operations": operations}
    return Take(codes=codes, audio=audio, sample_rate=rate, provenance=provenance)
