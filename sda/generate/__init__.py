"""Generation from a bundle's prior: new grids, continuations, regenerated regions, long decoding."""

from sda.generate.decoding import decode_codes
from sda.generate.engine import MAX_SECONDS, GenerationError, generate
from sda.generate.regenerate import regenerate_region
from sda.generate.sampling import SamplingSettings
from sda.generate.steering import render

__all__ = [
    "MAX_SECONDS",
    "GenerationError",
    "SamplingSettings",
    "decode_codes",
    "generate",
    "regenerate_region",
    "render",
]
