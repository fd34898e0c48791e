"""The codec's "done" signal (QualityPlateau) and best.ckpt: pure logic on a fake trainer, then a
few real smoke steps with the real configs."""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace

import factories
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sda.training.fit_run import find_resume
from sda.training.plateau import QualityPlateau, has_plateaued, projected_gain
from sda.training.train_codec import compose_config, train

MONITOR = "val/mel_distance"


class FakeModule:
    """Records what the callback logs, as `LightningModule.log` would."""

    def __init__(self) -> None:
        self.logged: list[tuple[str, float]] = []

    def log(self, name: str, value: float, **_: object) -> None:
        self.logged.append((name, value))


def fake_trainer(*, rank: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        sanity_checking=False,
        callback_metrics={},
        global_step=0,
        is_global_zero=rank == 0,
        should_stop=False,
        strategy=SimpleNamespace(reduce_boolean_decision=lambda decision, all=True: decision),
    )


def validate(callback, trainer, module, values, *, every: int = 100) -> None:
    """One validation per value, `every` steps apart, as the fit loop would call the hook."""
    for value in values:
        trainer.global_step += every
        trainer.callback_metrics = {MONITOR: torch.tensor(value)}
        callback.on_validation_epoch_end(trainer, module)


def test_has_plateaued_compares_the_best_with_patience_validations_ago() -> None:
    assert not has_plateaued([1.0, 0.9], patience=2, min_relative_gain=0.01)  # too few yet
    assert not has_plateaued([1.0, 0.95, 0.9], patience=2, min_relative_gain=0.01)  # 10 % better
    assert has_plateaued([1.0, 0.995, 0.995], patience=2, min_relative_gain=0.01)  # 0.5 %
    assert has_plateaued([1.0, 1.0], patience=1, min_relative_gain=0.0)  # no gain at all


def test_projected_gain_reads_the_trend_of_the_last_two_patience_windows() -> None:
    assert projected_gain([1.0, 0.9], patience=2) is None  # too few to draw a line through
    # a steady fall of 0.1 a validation from 1.0 to 0.5: 0.2 over the next two, 40 % of 0.5
    assert projected_gain([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], patience=2) == pytest.approx(0.4)
    assert projected_gain([0.5, 0.5, 0.5], patience=2) == pytest.approx(0.0)
    assert projected_gain([0.5, 0.6, 0.7], patience=2) < 0  # rising
    # only the last 2 x patience + 1 count: an early fall is forgotten once the line is flat
    assert projected_gain([9.0, 5.0, 0.5, 0.5, 0.5, 0.5, 0.5], patience=2) == pytest.approx(0.0)


def test_announces_once_logs_the_flag_and_does_not_stop(caplog) -> None:
    callback, trainer, module = QualityPlateau(patience=3), fake_trainer(), FakeModule()
    with caplog.at_level(logging.INFO, logger="sda.training.plateau"):
        validate(callback, trainer, module, [2.0, 1.5, 1.2, 1.0, 0.9, 0.99, 0.95])
        assert not callback.reached  # 0.9 vs 1.2 three validations before: still improving
        validate(callback, trainer, module, [0.89, 0.885, 0.88, 0.879, 0.879])
        # the best gained 0.68 % over three validations, but the line through the last seven
        # (0.9 ... 0.879, a bump at 0.99) still falls by more than 1 % over the next three
        assert has_plateaued(callback.bests, patience=3, min_relative_gain=0.01)
        assert not callback.reached
        validate(callback, trainer, module, [0.87, 0.875, 0.88, 0.87])  # flat: now it is done
    done = [r.getMessage() for r in caplog.records if r.getMessage().startswith("done:")]
    assert len(done) == 1
    assert "best val/mel_distance 0.8700 at step 1300" in done[0]
    assert "stop now (Ctrl-C keeps the best weights" in done[0] and "or let it run" in done[0]
    flags = [value for name, value in module.logged if name == "val/plateau"]
    assert flags == [0.0] * 15 + [1.0]  # reached at the 16th validation
    assert callback.reached_step == 1600 and not trainer.should_stop


def test_a_bump_of_noise_on_a_falling_curve_is_not_the_end() -> None:
    """Five drum one-shots from scratch (2026-12-07; its validations every 200 steps, the
    end-of-run ones left out): the best alone said "done" at step 2,200; it went on falling."""
    curve = [0.621, 0.627, 0.591, 0.564, 0.522, 0.515, 0.521, 0.525, 0.545, 0.534, 0.523]
    curve += [0.507, 0.494, 0.485, 0.489, 0.483, 0.477, 0.472, 0.469, 0.466, 0.459, 0.464]
    callback, trainer, module = QualityPlateau(patience=5), fake_trainer(), FakeModule()
    validate(callback, trainer, module, curve, every=200)
    assert not callback.reached
    validate(callback, trainer, module, [0.462] * 8, every=200)  # and once it is flat, it is
    assert callback.reached


def test_stop_on_plateau_stops_and_other_ranks_stay_quiet(caplog) -> None:
    callback, trainer, module = (
        QualityPlateau(patience=2, stop_on_plateau=True),
        fake_trainer(rank=1),
        FakeModule(),
    )
    with caplog.at_level(logging.INFO, logger="sda.training.plateau"):
        validate(callback, trainer, module, [1.0, 0.8, 0.8, 0.8])
        assert not trainer.should_stop  # no new best, but the line through 1.0 ... 0.8 falls
        validate(callback, trainer, module, [0.8, 0.8])
    assert trainer.should_stop and callback.reached
    assert not [r for r in caplog.records if "done:" in r.getMessage()]  # only rank zero speaks


def test_skips_sanity_checks_missing_metrics_and_nan() -> None:
    callback, trainer, module = QualityPlateau(patience=1), fake_trainer(), FakeModule()
    trainer.sanity_checking = True
    validate(callback, trainer, module, [5.0])
    trainer.sanity_checking, trainer.callback_metrics = False, {}
    callback.on_validation_epoch_end(trainer, module)  # no metric logged at all
    validate(callback, trainer, module, [float("nan"), 1.0, float("inf")])
    assert callback.bests == [1.0] and not callback.reached


def test_memory_survives_a_resume_through_a_weights_only_checkpoint(caplog) -> None:
    first, trainer, module = QualityPlateau(patience=3), fake_trainer(), FakeModule()
    validate(first, trainer, module, [0.8, 0.796, 0.795])
    buffer = io.BytesIO()
    torch.save({"callbacks": {first.state_key: first.state_dict()}}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)["callbacks"]
    resumed = QualityPlateau(patience=3)
    resumed.load_state_dict(saved[resumed.state_key])
    assert resumed.bests == first.bests and resumed.best_step == 300
    assert resumed.values == first.values == pytest.approx([0.8, 0.796, 0.795])
    fresh = QualityPlateau(patience=3)  # without the memory: too few validations to judge
    with caplog.at_level(logging.INFO, logger="sda.training.plateau"):
        validate(resumed, trainer, module, [0.794, 0.794])  # the first: 0.75 % over 0.8, flat
        validate(fresh, fake_trainer(), FakeModule(), [0.794, 0.794])
    assert resumed.reached_step == 400 and not fresh.reached
    assert len([r for r in caplog.records if "done:" in r.getMessage()]) == 1


def test_a_checkpoint_without_the_trend_resumes_on_the_best_alone() -> None:
    """Runs saved before the trend was kept: their memory loads, and the best-so-far rule
    judges until enough validations are seen again."""
    resumed = QualityPlateau(patience=3)
    resumed.load_state_dict({"bests": [1.0, 0.8, 0.8], "best_step": 200, "reached_step": None})
    assert resumed.values == []
    validate(resumed, fake_trainer(), FakeModule(), [0.8])  # 0.8 vs 1.0: 20 % better
    assert not resumed.reached
    validate(resumed, fake_trainer(), FakeModule(), [0.8])  # no gain over three; no trend yet
    assert resumed.reached


def test_patience_must_be_positive() -> None:
    with pytest.raises(ValueError, match="patience"):
        QualityPlateau(patience=0)


# --- real smoke steps: best.ckpt, the plateau in TensorBoard, resume ------------------------------
def smoke(tmp_path: Path, *overrides: str) -> Path:
    data = tmp_path / "data"
    if not data.is_dir():
        factories.write_tiny_audio(data, count=4, seconds=1.0)
    cfg = compose_config(
        [
            "experiment=smoke",
            f"data.dir={data}",
            f"paths.output_dir={tmp_path / 'outputs'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            *overrides,
        ]
    )
    return train(cfg)


def scalars(run: Path, tag: str) -> list[float]:
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return [event.value for event in events.Scalars(tag)]


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_real_training_keeps_best_and_announces_the_plateau(tmp_path: Path, caplog) -> None:
    # validation every 5 steps (smoke); a 10,000 % threshold makes the second validation a
    # plateau, by the best and by the trend
    plateau = "callbacks.quality_plateau"
    with caplog.at_level(logging.INFO, logger="sda.training.plateau"):
        run = smoke(
            tmp_path,
            "trainer.max_steps=20",
            f"{plateau}.patience=1",
            f"{plateau}.min_relative_gain=100.0",
            f"{plateau}.stop_on_plateau=true",
        )
    assert [r for r in caplog.records if r.getMessage().startswith("done:")]
    last = load(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 10  # stopped at the plateau, not at max_steps
    best = load(run / "checkpoints" / "best.ckpt")  # loadable without unpickling code
    mel = scalars(run, MONITOR)
    assert scalars(run, "val/plateau") == [0.0, 1.0]
    assert best["global_step"] == 5 * (1 + mel.index(min(mel)))
    state = last["callbacks"][QualityPlateau().state_key]
    assert state["reached_step"] == 10 and len(state["bests"]) == 2

    # a second run of the same command resumes from last.ckpt, even when best.ckpt is newer
    now = time.time()
    os.utime(run / "checkpoints" / "best.ckpt", (now + 60, now + 60))
    assert (
        find_resume(compose_config(), run, kind="codec").checkpoint
        == run / "checkpoints" / "last.ckpt"
    )
    again = smoke(tmp_path, "trainer.max_steps=15")
    assert again == run and load(run / "checkpoints" / "last.ckpt")["global_step"] == 15
    assert scalars(run, "val/plateau")[-1] == 1.0  # the memory came back with the resume


def test_resume_fallback_skips_best_ckpt(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    step = run / "checkpoints" / "step0000100.ckpt"
    torch.save({"global_step": 100, "hyper_parameters": {"codec": {"n_fft": 256}}}, step)
    best = run / "checkpoints" / "best.ckpt"
    torch.save({"global_step": 50, "hyper_parameters": {"codec": {"n_fft": 256}}}, best)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"truncated by a kill")
    now = time.time()
    os.utime(best, (now + 60, now + 60))  # saved after the step file, as a new best often is
    resume = find_resume(compose_config(), run, kind="codec")
    assert (resume.checkpoint, resume.hparams["codec"], resume.step) == (step, {"n_fft": 256}, 100)
