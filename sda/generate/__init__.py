"""Generation from a bundle's prior: new takes, continuations, regenerated regions, their level."""

from sda.dna.take import Take  # what generate() returns
from sda.generate.regenerate import regenerate_region
from sda.generate.render import render, render_take, set_level
from sda.generate.sampling import SamplingSettings
from sda.generate.settings import MAX_SECONDS, GenerationError, GenerationSettings
from sda.generate.take_halves import generate, generate_codes

__all__ = [
    "MAX_SECONDS",
    "GenerationError",
    "GenerationSettings",
    "SamplingSettings",
    "Take",
    "generate",
    "generate_codes",
    "regenerate_region",
    "render",
    "render_take",
    "set_level",
]
