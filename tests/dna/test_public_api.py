"""`sda.dna` re-exports its public names lazily: each one resolves to the object in its module."""

import importlib
import subprocess
import sys

import pytest

import sda.dna


@pytest.mark.parametrize("name", sda.dna.__all__)
def test_every_public_name_resolves_to_its_home(name):
    home = importlib.import_module(sda.dna._HOMES[name])
    assert getattr(sda.dna, name) is getattr(home, name)


def test_unknown_names_are_refused_and_the_import_stays_light():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        sda.dna.nothing_here  # noqa: B018
    fresh = "import sys, sda.dna; print('torch' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", fresh], text=True).strip() == "False"
