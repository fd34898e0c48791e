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


@pytest.mark.parametrize(
    ("controls", "said"),
    [
        (("--brightness", "0.8", "--loudness", "0.3"), "sampling: guidance 1, one take"),
        (
            ("--brightness", "0.8", "--tension", "0.7"),
            "sampling: guidance 1, 3 candidates steered every second, tension fed back",
        ),
        (("--density", "0.2", "--loudness", "0.3"), "sampling: guidance 1, one take"),
        (
            ("--tension", "0.2", "--candidates", "2"),
            "sampling: guidance 1, 2 candidates steered every second, tension fed back",
        ),
        (("--roughness", "0.2", "--density", "0.6"), "sampling: guidance 1, one take"),
        (("--warmth", "0.4", "--guidance", "2"), "sampling: guidance 2, one take"),
    ],
)
def test_unset_sampling_follows_the_controls_asked(
    capsys, tiny_library_root, tmp_path, controls, said
):
    """Controls the render or the rests set need one plain take; the ones only the notes carry get
    three unguided candidates steered while drawn; what the user gives wins."""
    code, out, err = run_cli(
        capsys, "generate", "tiny-prior", "--library", tiny_library_root, "-o", tmp_path,
        "--seconds", "0.3", *controls,
    )  # fmt: skip
    assert code == 0, err
    assert said in err.splitlines()


def test_a_take_without_controls_says_nothing_of_sampling(capsys, tiny_library_root, tmp_path):
    code, out, err = run_cli(
        capsys, "generate", "tiny-prior", "--library", tiny_library_root, "-o", tmp_path,
        "--seconds", "0.3",
    )  # fmt: skip
    assert code == 0, err
    assert not any(line.startswith("sampling:") for line in err.splitlines())


def _library_with(tmp_path, bundle, name: str, extra_stats: dict):
    """A library holding the tiny prior as `name`, its descriptor stats with `extra_stats`."""
    import factories

    from sda.library import Library, save_bundle

    library = Library(tmp_path / "library")
    staged = save_bundle(
        tmp_path / "staging" / name,
        codec=bundle.codec,
        prior=bundle.prior,
        meta={"descriptor_stats": {**factories.DESCRIPTOR_STATS, **extra_stats}},
    )
    library.add(staged, move=True)
    return library.root


@pytest.fixture
def weak_tension_library(tmp_path, tiny_prior_bundle):
    """A library holding the tiny prior as a model whose codec keeps tension poorly."""
    from sda.audio.control_fidelity import FIDELITY_KEY

    kept = {FIDELITY_KEY: {"tension": 0.5, "density": 0.95}}
    return _library_with(tmp_path, tiny_prior_bundle, "smooth", kept)


def test_a_prior_that_follows_tension_in_one_take_gets_one(capsys, tmp_path, tiny_prior_bundle):
    """Measured when the prior trained (`sda.training.tension_sampling`); --candidates wins."""
    from sda.generate.sampling_defaults import TENSION_SAMPLING_KEY

    measured = {TENSION_SAMPLING_KEY: {"way": "one_take", "one_take_rho": 0.85}}
    root = _library_with(tmp_path, tiny_prior_bundle, "follows", measured)
    for extra, said in (
        ((), "sampling: guidance 3, one take, tension fed back"),
        (
            ("--candidates", "2"),
            "sampling: guidance 3, 2 candidates steered every second, tension fed back",
        ),
    ):
        code, out, err = run_cli(
            capsys, "generate", "follows", "--library", root, "-o", tmp_path / "takes",
            "--seconds", "0.3", "--tension", "0.7", "--overwrite", *extra,
        )  # fmt: skip
        assert code == 0, err
        assert said in err.splitlines()
    code, out, err = run_cli(capsys, "library", "show", "follows", "--library", root)
    assert code == 0, err
    shown = " ".join(out.replace("│", " ").split())  # the table folds long cells
    assert "tension sampled by one guided take" in shown, shown


def test_a_control_the_codec_keeps_poorly_gets_a_note(capsys, weak_tension_library, tmp_path):
    code, out, err = run_cli(
        capsys, "generate", "smooth", "--library", weak_tension_library, "-o", tmp_path / "takes",
        "--seconds", "0.3", "--candidates", "1", "--tension", "0.7", "--density", "0.4",
    )  # fmt: skip
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].startswith("note: tension moves little with this model")
    assert "0.50" in notes[0]
    code, out, err = run_cli(capsys, "library", "show", "smooth", "--library", weak_tension_library)
    assert code == 0, err
    shown = " ".join(out.replace("│", " ").split())  # the table folds long cells
    assert "controls (codec keeps)" in shown, shown
    assert "tension 0.50 (moves little)" in shown and "density 0.95" in shown
