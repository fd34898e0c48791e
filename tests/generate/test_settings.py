"""`GenerationSettings`: one set of limits, and the same words from the engine, the CLI and the app."""

import dataclasses

import pytest

from sda.generate.settings import (
    MAX_CANDIDATES,
    MAX_GUIDANCE,
    GenerationError,
    GenerationSettings,
)


def test_settings_are_checked_once_and_normalised():
    settings = GenerationSettings(
        seconds=2, seed=3.0, top_k=0, controls={"density": "0.1:0.9", "warmth": None}
    )
    assert settings.seconds == 2.0 and settings.seed == 3 and settings.top_k is None
    assert settings.controls == {"density": [0.1, 0.9]}  # unset controls dropped
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 4  # type: ignore[misc]
    assert GenerationSettings(seconds=None).seconds is None  # a region sets its own length


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seconds": 0}, "seconds must be more than 0"),
        ({"seconds": float("inf")}, "seconds"),
        ({"seed": -1}, "seed must be a whole number"),
        ({"seed": 2.5}, "seed must be a whole number"),
        ({"temperature": 0}, "temperature must be more than 0"),
        ({"temperature": 9}, "at most 5"),
        ({"top_k": -2}, "top-k"),
        ({"top_p": 0}, "top-p"),
        ({"guidance": MAX_GUIDANCE + 1}, f"between 0 (ignore controls) and {MAX_GUIDANCE:g}"),
        ({"candidates": MAX_CANDIDATES + 1}, f"between 1 (no choosing) and {MAX_CANDIDATES}"),
        ({"candidates": "many"}, "candidates must be a number"),
        ({"controls": {"sparkle": 0.5}}, "unknown control 'sparkle'"),
        ({"controls": {"density": "0.2:x"}}, "not a number"),
        ({"controls": {"density": [0.2, 1.4]}}, "between 0 and 1"),
    ],
)
def test_one_message_per_bad_setting(changes, message):
    with pytest.raises(GenerationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GenerationSettings(**changes)


@pytest.mark.parametrize(
    ("cli_option", "form"),
    [
        ("--guidance=25", {"guidance": 25.0}),
        ("--candidates=17", {"candidates": 17}),
        ("--temperature=0", {"temperature": 0.0}),
        ("--top-k=-2", {"top_k": -2}),
        ("--brightness=1.5", {"controls": {"brightness": 1.5}}),
    ],
)
def test_the_cli_and_the_app_refuse_with_the_same_words(
    tiny_library_root, tmp_path, cli_option, form
):
    from typer.testing import CliRunner

    from sda.app import generate_callbacks as gen
    from sda.app.errors import AppError
    from sda.app.state import AppContext, UserSession
    from sda.cli import app
    from sda.library import Library

    ctx = AppContext.create(Library(tiny_library_root), work_dir=tmp_path / "work")
    args = ["generate", "tiny-prior", "--library", str(tiny_library_root), "-o", str(tmp_path)]
    cli = CliRunner().invoke(app, [*args, cli_option]).exception
    with pytest.raises(AppError) as refused:
        gen.generate_takes(ctx, UserSession(), "tiny-prior", gen.GenerationSettings(**form))
    assert isinstance(cli, GenerationError), cli
    assert str(cli) == str(refused.value)
