"""`sda generate` says what each control setting means for this model, in physical units."""

from __future__ import annotations

import pytest
from factories import run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_controls_are_shown_in_the_models_units(capsys, tiny_library_root, tmp_path):
    code, out, err = run_cli(
        capsys, "generate", "tiny-prior", "--library", tiny_library_root, "-o", tmp_path,
        "--seconds", "0.3", "--candidates", "1", "--density", "0.9", "--loudness", "0.1:0.5",
    )  # fmt: skip
    assert code == 0, err
    line = next(line for line in err.splitlines() if line.startswith("controls: "))
    assert "density 0.9 (≈ " in line and "onsets/s)" in line
    assert "loudness 0.1 → 0.5 (≈ " in line and "dBFS RMS)" in line
