"""Sound DNA: `Codes` (a sound's code grid and its file), encoding and decoding with the model that
made them, edits, latent blends, editing sessions and analytics.

`from sda.dna import Codes, encode_file, swap_levels` works; each name is imported on first use,
so `import sda.dna` stays cheap (no torch). The modules keep their names: `sda.dna.blend`,
`sda.dna.edit`, `sda.dna.analytics`, ... (so `blend` and `decode` here are those modules, not
the functions of the same name inside them).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_HOMES = {
    "Codes": "sda.dna.codes",
    "CodesError": "sda.dna.errors",
    "SUFFIX": "sda.dna.codes",
    "encode_audio": "sda.dna.codec_bridge",
    "encode_file": "sda.dna.codec_bridge",
    "decode_take": "sda.dna.codec_bridge",
    "load_codes_or_audio": "sda.dna.codec_bridge",
    "save_codes_or_audio": "sda.dna.codec_bridge",
    "check_codes": "sda.dna.codes_fit",
    "decode_codes": "sda.dna.decode",
    "Take": "sda.dna.take",
    "slice_frames": "sda.dna.edit",
    "concat": "sda.dna.edit",
    "loop": "sda.dna.edit",
    "set_cells": "sda.dna.edit",
    "set_region": "sda.dna.edit",
    "swap_levels": "sda.dna.edit",
    "choose_levels": "sda.dna.edit",
    "swap_span": "sda.dna.edit",
    "morph_levels": "sda.dna.edit",
    "randomize_region": "sda.dna.edit",
    "mix_latents": "sda.dna.blend",
    "morph_latents": "sda.dna.blend",
    "Session": "sda.dna.session",
    "SessionError": "sda.dna.session",
    "load_grid": "sda.dna.session",
    "encode_stereo": "sda.dna.stereo_bridge",
    "decode_stereo": "sda.dna.stereo_bridge",
    "swap_side": "sda.dna.stereo_edit",
    "edit_grids": "sda.dna.stereo_edit",
    "edit_grid_pairs": "sda.dna.stereo_edit",
    "keep_target": "sda.dna.stereo_edit",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # AttributeError lets `from sda.dna import edit` find the submodule
        raise AttributeError(f"module 'sda.dna' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
