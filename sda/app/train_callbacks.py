"""Train tab logic: inspect a folder, then train codec -> prior -> add to the library in the background.

Training runs as separate processes (`python -m sda.training.train_codec`, then `train_prior`), so
the app never imports lightning/hydra and a crash in training cannot take the explorer down.
One run at a time per app: training fills every CPU core.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sda.app.errors import AppError

REPORT_COLUMNS = ["file", "verdict", "seconds", "reason"]
LOG_TAIL_LINES = 14


TrainTabError = AppError  # the explorer's one error (sda.app.errors), by this tab's older name


def inspect_folder(folder: str | None) -> tuple[list[list[Any]], str]:
    """The dataset report of a folder: one row per file and a one-paragraph summary."""
    from sda.dataset.scan import scan_folder

    path = _folder(folder)
    report = scan_folder(path)
    rows = [
        [str(Path(f.path).name), f.verdict, round(float(f.seconds or 0.0), 2), f.reason or ""]
        for f in report.files
    ]
    usable = len(report.usable)
    summary = (
        f"**{usable} of {len(report.files)} files usable**, {report.usable_seconds:.1f} s of audio "
        f"in `{path}`."
    )
    # folders not entered (symlink loops, no permission), a cache that could not take the audio
    summary += "".join(f"\n\n- note: {note}" for note in getattr(report, "notes", []))
    if not usable:
        summary += (
            " Nothing to train on: add wav/aiff/flac/ogg/mp3 recordings of at least a second."
        )
        return rows, summary
    return rows, summary + "\n\n" + verdict_markdown(report)


def verdict_markdown(report: Any) -> str:
    """The set verdict of `sda data inspect` as Markdown: how it splits, then one line per stage."""
    from sda.dataset.verdict import judge_set

    verdict = judge_set(report)
    stages = [
        f"- **{stage.stage}: {stage.level}** — {stage.reason}"
        + (f"; {stage.advice}" if stage.advice else "")
        for stage in (verdict.codec, verdict.prior)
    ]
    return "\n".join([verdict.lines()[0], "", *stages])


def _folder(folder: str | None) -> Path:
    if not folder or not folder.strip():
        raise TrainTabError("type the path of a folder with your recordings")
    path = Path(folder.strip()).expanduser()
    if not path.is_dir():
        raise TrainTabError(f"{path} is not a folder on this computer")
    return path.resolve()


def run_name(text: str) -> str:
    """A model name usable as a run folder and Hydra value (letters, digits, - and _)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", (text or "").strip()).strip("-")[:48]
    if not name:
        raise TrainTabError("give the new model a name, e.g. my-kit")
    return name


@dataclass
class TrainingJob:
    """A background chain of steps; each step is a command, or a Python callable for the export."""

    name: str
    steps: list[tuple[str, Any]]  # (label, argv list or callable)
    log_path: Path
    started: float = field(default_factory=time.time)
    step: int = 0
    state: str = "running"  # running, done, failed, stopped
    message: str = ""
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> TrainingJob:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._run, name=f"sda-train-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        with self.log_path.open("a", encoding="utf-8") as log:
            for index, (label, action) in enumerate(self.steps):
                self.step = index
                log.write(f"\n=== {label} ===\n")
                log.flush()
                if self._stop.is_set():
                    break
                try:
                    if callable(action):
                        log.write(f"{action()}\n")
                        continue
                    self._process = subprocess.Popen(action, stdout=log, stderr=subprocess.STDOUT)
                    code = self._process.wait()
                except Exception as error:  # reported in the UI, the app keeps running
                    self.state, self.message = "failed", f"{label}: {error}"
                    return
                if self._stop.is_set():
                    break
                if code != 0:
                    self.state, self.message = "failed", f"{label} stopped with exit code {code}"
                    return
            self.state = "stopped" if self._stop.is_set() else "done"

    def stop(self) -> None:
        self._stop.set()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> str:
        minutes = (time.time() - self.started) / 60
        label = self.steps[min(self.step, len(self.steps) - 1)][0]
        text = {
            "running": f"**{self.name}**: step {self.step + 1} of {len(self.steps)}, {label} "
            f"({minutes:.1f} min so far)",
            "done": f"**{self.name}** is trained and in your library. Pick it in Generate.",
            "failed": f"**{self.name}** failed: {self.message}. The log below says why.",
            "stopped": f"**{self.name}** was stopped.",
        }[self.state]
        return text

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        # Progress bars rewrite one line with carriage returns; keep only their latest state.
        clean = [line.split("\r")[-1] for line in text.splitlines()]
        return "\n".join(clean[-lines:])


def training_steps(
    library: Any, folder: Path, name: str, *, minutes: float, runs_dir: Path
) -> list[tuple[str, Any]]:
    """Codec, then prior, each for `minutes`, then export both into the library as `name`.

    Each stage picks its recipe from the machine as `sda-train` and `sda-train-prior` do (the
    laptop one on a CPU, the GPU one where CUDA is), and prints the choice into the log."""
    budget = f"00:00:{int(minutes):02d}:{int(round((minutes % 1) * 60)):02d}"
    common = [f"paths.output_dir={runs_dir}", f"name={name}", f"trainer.max_time={budget}"]
    codec_run = runs_dir / "codec" / name
    prior_run = runs_dir / "prior" / name

    def export() -> str:
        from sda.library import export_run

        path = export_run(prior_run, name=name, library=library, tags=["trained-in-app"])
        return f"added {name} to the library at {path}"

    return [
        (
            "training the codec",
            [
                sys.executable,
                "-m",
                "sda.training.train_codec",
                f"data.dir={folder}",
                *common,
            ],
        ),
        (
            "training the prior",
            [sys.executable, "-m", "sda.training.train_prior", f"codec={codec_run}", *common],
        ),
        ("adding the model to the library", export),
    ]


def start_training(ctx: Any, folder: str | None, name: str, minutes: float) -> TrainingJob:
    """Start the codec -> prior -> library chain; only one training run per app at a time."""
    path = _folder(folder)
    clean = run_name(name)
    if not 1 <= float(minutes) <= 600:
        raise TrainTabError("give each stage between 1 and 600 minutes")
    if ctx.library.has(clean):
        raise TrainTabError(f'a model named "{clean}" is already in the library; pick another name')
    with ctx.training_lock:
        if ctx.training is not None and ctx.training.running:
            raise TrainTabError(f"{ctx.training.name} is still training; stop it or wait")
        _, summary = inspect_folder(str(path))
        if summary.startswith("**0 of"):
            raise TrainTabError(f"nothing usable to train on in {path}")
        log = ctx.runs_dir / "logs" / f"{clean}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        steps = training_steps(
            ctx.library, path, clean, minutes=float(minutes), runs_dir=ctx.runs_dir
        )
        ctx.training = TrainingJob(name=clean, steps=steps, log_path=log).start()
        return ctx.training


def tensorboard_hint(ctx: Any) -> str:
    return f"Watch the losses live: `tensorboard --logdir {ctx.runs_dir}`"
