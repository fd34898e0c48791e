"""How the trainers' OpenMP threads wait: a brief spin on Linux, sleeping elsewhere, the user's
own setting untouched, and set before torch starts its threads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sda.training.thread_waits import SPIN_COUNT, described_waits, thread_waits


def test_linux_spins_briefly_and_other_platforms_sleep():
    assert thread_waits({}, "linux") == {"GOMP_SPINCOUNT": SPIN_COUNT}
    assert thread_waits({}, "darwin") == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert thread_waits({}, "win32") == {"OMP_WAIT_POLICY": "PASSIVE"}


@pytest.mark.parametrize("name", ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"])
def test_a_users_own_setting_wins(name):
    assert thread_waits({name: "ACTIVE"}, "linux") == {}
    assert thread_waits({name: "ACTIVE"}, "darwin") == {}


def test_a_benchmark_line_names_both_variables():
    text = described_waits({"GOMP_SPINCOUNT": "3000"})
    assert text == "OMP_WAIT_POLICY unset, GOMP_SPINCOUNT 3000"


# Records the waits in force when torch is first imported, then imports the trainer.
PROBE = """
import builtins, os, sys
seen = {}
real = builtins.__import__
def spy(name, *args, **kwargs):
    if name.split(".")[0] == "torch" and "at_torch" not in seen:
        seen["at_torch"] = (os.environ.get("GOMP_SPINCOUNT"), os.environ.get("OMP_WAIT_POLICY"))
    return real(name, *args, **kwargs)
builtins.__import__ = spy
import importlib
importlib.import_module(sys.argv[1])
print(seen["at_torch"])
"""


@pytest.mark.parametrize("trainer", ["sda.training.train_codec", "sda.training.train_prior"])
def test_the_trainers_set_the_waits_before_torch_starts(trainer):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, trainer], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    wanted = thread_waits({}, sys.platform)
    expected = (wanted.get("GOMP_SPINCOUNT"), wanted.get("OMP_WAIT_POLICY"))
    assert out.stdout.strip().splitlines()[-1] == repr(expected)
