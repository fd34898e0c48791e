"""experiments/bench_base_gate.py: a base codec ships only when users' fine-tunes gain from it."""

from __future__ import annotations

import pytest
import torch
from factories import REPO, repo_script

from sda.models.base_codec import load_base_codec


@pytest.fixture
def gate(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "experiments"))
    return repo_script("experiments/bench_base_gate.py", monkeypatch)


def rows(scores: dict[str, dict[str, float]]) -> list[dict]:
    return [
        {"candidate": c, "set": s, "mel": mel, "attack": 2.0, "best_step": 1000}
        for c, by_set in scores.items()
        for s, mel in by_set.items()
    ]


def test_a_candidate_better_on_average_and_nowhere_worse_wins(gate):
    scored = rows(
        {
            "shipped": {"drums": 1.34, "textures": 1.16, "unseen": 1.61},
            "step4000": {"drums": 1.30, "textures": 1.15, "unseen": 1.55},
            "step9000": {"drums": 1.28, "textures": 1.14, "unseen": 1.50},
        }
    )
    results = gate.verdict(scored, tolerance=0.03)
    assert not results["shipped"]["passes"]
    assert results["step4000"]["passes"] and results["step9000"]["passes"]
    assert gate.winner(results) == "step9000"
    assert "| step9000 | 1.280 / 2.0 (1000) |" in gate.table(scored, results)


def test_a_candidate_that_specialises_is_refused_even_when_better_on_average(gate):
    # what the 14,469-step base did: far better on corpus-like sound, worse on drum one-shots
    scored = rows(
        {
            "shipped": {"drums": 1.34, "textures": 1.16, "unseen": 1.61},
            "specialised": {"drums": 1.42, "textures": 1.10, "unseen": 1.45},
        }
    )
    results = gate.verdict(scored, tolerance=0.03)
    assert results["specialised"]["mean"] < results["shipped"]["mean"]
    assert results["specialised"]["worst_vs_shipped"] == pytest.approx(0.08)
    assert not results["specialised"]["passes"]
    assert gate.winner(results) is None


def test_a_candidate_missing_a_set_cannot_pass(gate):
    scored = rows({"shipped": {"drums": 1.34, "unseen": 1.61}, "partial": {"drums": 1.0}})
    assert not gate.verdict(scored, tolerance=0.03)["partial"]["passes"]


def test_each_candidate_is_judged_by_its_mean_over_seeds(gate):
    # one seed each: the candidate looks 0.06 better on the unseen set; a second seed says noise
    scored = rows(
        {"shipped": {"drums": 1.34, "unseen": 1.85}, "candidate": {"drums": 1.34, "unseen": 1.79}}
    )
    scored += rows(
        {"shipped": {"drums": 1.34, "unseen": 1.79}, "candidate": {"drums": 1.34, "unseen": 1.89}}
    )
    results = gate.verdict(scored, tolerance=0.03)
    assert results["candidate"]["mean"] == pytest.approx((1.34 + 1.84) / 2)
    assert results["candidate"]["worst_vs_shipped"] == pytest.approx(0.02)
    assert not results["candidate"]["passes"]  # not better on average
    assert "| candidate | 1.340 / 2.0 (1000) | 1.840 / 2.0 (1000) |" in gate.table(scored, results)


def test_a_checkpoint_is_written_out_as_the_base_file_shipping_would_write(gate, tmp_path):
    base, _ = load_base_codec()
    from dataclasses import asdict

    checkpoint = tmp_path / "base-continued" / "checkpoints" / "step0004000.ckpt"
    checkpoint.parent.mkdir(parents=True)
    state = {f"codec.{k}": v for k, v in base.state_dict().items()}
    torch.save(
        {
            "hyper_parameters": {
                "codec": asdict(base.config),
                "init_from": {"source": "base", "steps": "5069"},
            },
            "state_dict": state,
            "global_step": 4000,
        },
        checkpoint,
    )
    files = gate.candidate_files([checkpoint], tmp_path / "work")
    assert set(files) == {"shipped", "base-continued-step0004000"}
    written, metadata = load_base_codec(files["base-continued-step0004000"])
    assert metadata["steps"] == "9069" and metadata["checkpoint"] == "step0004000.ckpt"
    assert written.fingerprint() == base.fingerprint()  # fp16 in, fp16 out: the same weights


def test_the_table_says_how_much_of_held_tones_is_kept_where_a_set_has_them(gate):
    scored = rows(
        {"shipped": {"tonal": 1.40, "drums": 1.34}, "phase": {"tonal": 1.38, "drums": 1.33}}
    )
    for row in scored:
        row["tone_kept"] = {"tonal": 0.31, "drums": None}[row["set"]]
    text = gate.table(scored, gate.verdict(scored, tolerance=0.03))
    assert "| phase | 1.330 / 2.0 (1000) | 1.380 / 2.0 / 0.31 (1000) |" in text
