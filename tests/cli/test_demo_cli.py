"""`sda demo` end to end: data -> codec -> prior -> bundle in the library -> rendered audio."""

from __future__ import annotations

import numpy as np
import pytest
from factories import run_cli

from sda.audio.io import load_audio
from sda.library import Library, load_bundle


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_a_rerun_replaces_its_bundle(tmp_path, capsys):
    out_dir, library_dir = tmp_path / "demo", tmp_path / "library"
    args = ["demo", "--minutes", "0.15", "--prior-minutes", "0.1", "--takes", "1", "--seconds", "2"]
    args += ["--out-dir", str(out_dir), "--library", str(library_dir)]
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err

    bundle = load_bundle(Library(library_dir).path_of("demo"))
    assert bundle.prior is not None and bundle.meta["dataset"]["files"]
    renders = sorted(p.name for p in (out_dir / "renders").iterdir())
    assert renders == [
        "reconstructed-00_pluck.wav",
        "reconstructed-01_bell.wav",
        "reconstructed-02_swell.wav",
        "take-1.wav",
    ]
    take = load_audio(out_dir / "renders" / "take-1.wav", sample_rate=None)
    assert take.shape[1] >= 2 * 48000 * 0.9 and np.isfinite(take).all() and np.abs(take).max() > 0

    # a second run resumes its runs and replaces its own "demo" bundle instead of failing
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert Library(library_dir).names() == ["demo"]


def test_demo_refuses_to_replace_a_bundle_it_did_not_make(tmp_path, capsys, tiny_library_root):
    import shutil

    library_dir = tmp_path / "library"
    shutil.copytree(tiny_library_root, library_dir)
    out_dir = tmp_path / "demo"
    code, _, err = run_cli(
        capsys, "demo", "--name", "tiny", "--out-dir", str(out_dir), "--library", str(library_dir),
        "--minutes", "0.05", "--prior-minutes", "0.05", "--takes", "0",
    )  # fmt: skip
    assert code == 1
    assert 'already has a bundle named "tiny"' in err
    assert "tiny" in Library(library_dir).names()
