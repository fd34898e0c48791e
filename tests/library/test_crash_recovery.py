"""A crash at every step of every library operation.

Each operation runs in a forked child that dies like `kill -9` (`os._exit`, no cleanup) just before
its k-th change to the disk, for k = 1, 2, ... until it finishes. After each crash the library is
reopened and then checked by `doctor --clean`: no model is lost or damaged, the index matches the
folders and meta.json names, the operation is either done or undone, nothing is left hidden.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import signal
import sys
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import factories
import pytest

from sda.library import Library
from sda.library.bundle import CODEC_FILE, META_FILE, check_bundle_folder
from sda.library.index import read_index

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked child")

# Every change a library operation makes to what is on disk goes through one of these (file
# contents are written before a rename or a copy: a crash mid-write leaves only a temp file).
STEPS = (
    (os, "replace"),
    (os, "rename"),
    (os, "mkdir"),
    (os, "rmdir"),
    (os, "unlink"),
    (os, "remove"),
    (shutil, "copyfile"),
)
CRASHED, FINISHED, FAILED = 71, 72, 73
CHILD_SECONDS = 60
ROOT_FILES = {".lock", "index.json", "index.json.bak", "bundles"}


def _dies_at(real: Callable, seen: list[int], step: int) -> Callable:
    def wrapper(*args, **kwargs):
        seen[0] += 1
        if seen[0] == step:
            os._exit(CRASHED)  # like kill -9: no finally, no except, no cleanup
        return real(*args, **kwargs)

    return wrapper


def _die_before_step(step: int) -> None:
    seen = [0]
    for module, name in STEPS:
        setattr(module, name, _dies_at(getattr(module, name), seen, step))


def crash_at(step: int, operation: Callable[[], object], log: Path) -> bool:
    """Run `operation` in a child killed before its `step`-th disk change; True if it was
    killed, False if it finished first."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = FAILED
        try:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(CHILD_SECONDS)  # a hung child dies instead of hanging the suite
            # One thread: an OpenMP pool does not survive a fork (GNU libgomp would hang).
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(1)
            _die_before_step(step)
            operation()
            code = FINISHED
        except BaseException:
            log.write_text(traceback.format_exc())
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (CRASHED, FINISHED), log.read_text() if log.exists() else code
    return code == CRASHED


@dataclass
class Scenario:
    operation: Callable[[Library, Path], object]
    before: set[str]  # the library's names if the operation is undone
    after: set[str]  # ... if it is finished
    tags: tuple[list[str], ...] = ()  # the tags of "drums" undone or finished, when they change


def _hidden(root: Path, zips: Path) -> list[str]:
    """Everything a crash could leave behind that no listing shows."""
    found = [p.name for p in root.iterdir() if p.name not in ROOT_FILES]
    found += [p.name for p in (root / "bundles").iterdir() if p.name.startswith(".")]
    for folder in (root / "bundles").iterdir():
        found += [f"{folder.name}/{p.name}" for p in folder.iterdir() if p.name.startswith(".")]
    found += [p.name for p in zips.iterdir() if p.name.startswith(".")] if zips.exists() else []
    return found


def _weights_of(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file's tensors (header entries and data), without its metadata."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    header.pop("__metadata__", None)
    return header, data[8 + size :]


def _weights(path: Path) -> tuple[dict, bytes]:
    return _weights_of(path.read_bytes())


def check_library(root: Path, scenario: Scenario, codec_bytes: bytes) -> set[str]:
    """The invariants after a crash and a reopen; the library's names."""
    library = Library(root)
    names = set(library.names())  # the first use recovers
    assert names in (scenario.before, scenario.after), library.notice
    assert not list(root.glob(".intent-*")), "an operation was left unfinished"
    folders = {p.name for p in (root / "bundles").iterdir() if not p.name.startswith(".")}
    assert folders == names
    assert set(read_index(root / "index.json")) == names  # the file, not only the view
    assert not scenario.tags or library.get("drums").tags in scenario.tags
    index = read_index(root / "index.json")
    for name in names:
        config, meta = check_bundle_folder(root / "bundles" / name)
        assert meta["name"] == name and meta["tags"] == index[name].tags
        assert _weights(root / "bundles" / name / CODEC_FILE) == _weights_of(codec_bytes)
    return names


def _run(scenario: Scenario, root: Path, outside: Path) -> None:
    scenario.operation(Library(root), outside)  # a new Library: locks do not cross a fork


def run_every_crash(tmp_path: Path, template: Path, scenario: Scenario, codec_bytes: bytes) -> int:
    """Crash the operation at each of its steps in turn; the number of steps."""
    step = 0
    while True:
        step += 1
        case = tmp_path / f"step{step}"
        root, outside = case / "lib", case / "outside"
        shutil.copytree(template, case)
        operation = functools.partial(_run, scenario, root, outside)
        if not crash_at(step, operation, case / "log.txt"):
            assert check_library(root, scenario, codec_bytes) == scenario.after
            return step
        names = check_library(root, scenario, codec_bytes)
        report = Library(root).doctor(clean=True)
        assert not report.damaged and not report.recovered, report
        assert not _hidden(root, outside / "zips"), (
            f"step {step}: {_hidden(root, outside / 'zips')}"
        )
        assert check_library(root, scenario, codec_bytes) == names
        _check_outside(outside, names, scenario)
        shutil.rmtree(case)


def _check_outside(outside: Path, names: set[str], scenario: Scenario) -> None:
    """A folder moved into the library is either there or back where it was; a zip is whole."""
    moved = outside / "moved"
    if "moved" in scenario.after - scenario.before:
        assert ("moved" in names) != (moved / CODEC_FILE).is_file()
    shared = outside / "zips" / "drums.zip"
    if shared.exists():
        with zipfile.ZipFile(shared) as archive:
            assert archive.testzip() is None


@pytest.fixture
def runs_read_once(monkeypatch):
    """`sda library add` reads its training runs once, not in every child: reading changes nothing
    on disk, and the crash points are all in the writing."""
    module = importlib.import_module("sda.library.add_run")
    cached = functools.cache(module._read_runs)
    monkeypatch.setattr(module, "_read_runs", cached)
    return cached


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_bundle, tiny_models) -> Path:
    """A library ("drums", "pads") plus, outside it, a bundle folder, a zip and a codec run."""
    case = tmp_path_factory.mktemp("crash_template")
    library = Library(case / "lib")
    for name in ("drums", "pads"):
        library.add(tiny_bundle.path, name=name, tags=["perc"] if name == "drums" else [])
    outside = case / "outside"
    shutil.copytree(tiny_bundle.path, outside / "moved")
    library.export_zip("pads", outside / "pads.zip")
    factories.write_codec_run(outside / "run", tiny_models[0])
    return case


SCENARIOS = {
    "add": Scenario(
        lambda lib, out: lib.add(out / "moved", name="copied"),
        {"drums", "pads"},
        {"drums", "pads", "copied"},
    ),
    "add by moving": Scenario(
        lambda lib, out: lib.add(out / "moved", name="moved", move=True),
        {"drums", "pads"},
        {"drums", "pads", "moved"},
    ),
    "rename": Scenario(
        lambda lib, out: lib.rename("drums", "Drum Kit"),
        {"drums", "pads"},
        {"Drum Kit", "pads"},
    ),
    "rename the case": Scenario(
        lambda lib, out: lib.rename("drums", "DRUMS"), {"drums", "pads"}, {"DRUMS", "pads"}
    ),
    "tag": Scenario(
        lambda lib, out: lib.tag("drums", add=["live"], remove=["perc"]),
        {"drums", "pads"},
        {"drums", "pads"},
        tags=(["test", "perc"], ["test", "live"]),
    ),
    "delete": Scenario(lambda lib, out: lib.delete("pads"), {"drums", "pads"}, {"drums"}),
    "import": Scenario(
        lambda lib, out: lib.import_zip(out / "pads.zip", name="shared"),
        {"drums", "pads"},
        {"drums", "pads", "shared"},
    ),
    "export a zip": Scenario(
        lambda lib, out: lib.export_zip("drums", out / "zips" / "drums.zip"),
        {"drums", "pads"},
        {"drums", "pads"},
    ),
}


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_a_crash_at_every_step_loses_nothing(kind, template, tmp_path, tiny_bundle):
    codec_bytes = (tiny_bundle.path / CODEC_FILE).read_bytes()
    steps = run_every_crash(tmp_path, template, SCENARIOS[kind], codec_bytes)
    print(kind, steps)
    assert steps > 3  # the hooks saw the operation's changes


def test_a_crash_at_every_step_of_sda_export_loses_nothing(
    template, tmp_path, tiny_bundle, runs_read_once
):
    from sda.library import add_run

    run = template / "outside" / "run"
    runs_read_once(run, None, "best")  # read here, before the children are forked
    scenario = Scenario(
        lambda lib, out: add_run(run, name="fresh", library=lib, preview=False),
        {"drums", "pads"},
        {"drums", "pads", "fresh"},
    )
    codec_bytes = (tiny_bundle.path / CODEC_FILE).read_bytes()  # the same tiny codec
    steps = run_every_crash(tmp_path, template, scenario, codec_bytes)
    print("sda library add", steps)
    assert steps > 3


def test_bundles_hidden_by_an_older_sda_are_brought_back(tmp_path, template):
    """A crashed rename of an older sda (no journal) hid the model: it comes back on open, under
    its name, or as "recovered ..." when its meta.json is damaged (never deleted)."""
    root = tmp_path / "lib"
    shutil.copytree(template / "lib", root)
    os.replace(root / "bundles" / "drums", root / "bundles" / ".rename-0123abcd")
    os.replace(root / "bundles" / "pads", root / "bundles" / ".rename-4567cdef")
    (root / "bundles" / ".rename-4567cdef" / META_FILE).write_text("{ damaged")
    library = Library(root)
    assert library.names() == ["drums"]
    assert "hidden by an interrupted rename" in library.notice
    assert json.loads((root / "bundles" / "drums" / META_FILE).read_text())["name"] == "drums"
    report = library.doctor(clean=True)
    assert report.damaged and "recovered 4567cdef" in report.damaged[0]
    assert (root / "bundles" / "recovered 4567cdef" / CODEC_FILE).is_file()


def test_a_running_operation_is_left_alone(tmp_path, template):
    """Another process's operation in progress has a journal and a scratch folder too."""
    from sda.library import journal

    root = tmp_path / "lib"
    shutil.copytree(template / "lib", root)
    running = journal.begin(root, "add", name="busy", source=None)
    running.scratch("staging").mkdir()
    (running.scratch("staging") / "codec.safetensors").write_bytes(b"x" * 1000)
    library = Library(root)
    assert library.names() == ["drums", "pads"] and library.notice is None
    report = library.doctor(clean=True)
    assert not report.recovered and not report.leftovers
    assert running.path.is_file() and running.scratch("staging").is_dir()
    running.finish()
    shutil.rmtree(running.scratch("staging"))


def test_leftovers_are_listed_with_sizes_and_removed_only_on_request(tmp_path, template):
    root = tmp_path / "lib"
    shutil.copytree(template / "lib", root)
    made = {
        root / ".trash-0123abcd" / CODEC_FILE: 5000,  # older sda: no journal
        root / ".import-4567cdef" / CODEC_FILE: 3000,
        root / ".index.json.x1y2z3.tmp": 100,
        root / "bundles" / "drums" / ".meta.json.a1b2c3.tmp": 10,
    }
    for path, size in made.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x" * size)
    (root / "bundles" / ".rename-89abcdef").mkdir()  # empty: nothing to bring back
    made[root / "bundles" / ".rename-89abcdef"] = 0
    library = Library(root)
    assert library.names() == ["drums", "pads"] and "leftover" in library.notice
    report = library.doctor()
    sizes = {item.path.name: item.size for item in report.leftovers}
    assert sizes == {
        ".trash-0123abcd": 5000,
        ".import-4567cdef": 3000,
        ".index.json.x1y2z3.tmp": 100,
        ".meta.json.a1b2c3.tmp": 10,
        ".rename-89abcdef": 0,
    }
    assert all(path.exists() for path in made)  # listed, not removed
    assert Library(root).doctor(clean=True).cleaned
    assert not any(path.exists() for path in made)
    assert not Library(root).doctor().leftovers
    assert Library(root).names() == ["drums", "pads"]
