"""How the trainers' OpenMP threads wait between parallel regions: set before torch starts them.

A waiting thread either spins (fast to wake, but it holds a core) or sleeps. Spinning long, as
OpenMP does by default, made training steps 5-10x slower beside another busy process (one
process busy on a 2-core machine: a codec step's core 0.64 s sleeping at once, 4.6 s spinning
long). Sleeping at once (`OMP_WAIT_POLICY=PASSIVE`, the trainers' setting until 2026-12-08) costs
every region a wake-up: on a quiet machine a codec step took 0.43 s against 0.32 s spinning.
GNU OpenMP (Linux builds of torch) can spin briefly, then sleep: with `GOMP_SPINCOUNT=3000` the
step took 0.37 s quiet and 0.69 s beside the busy process, and a 3-minute codec training made
475 steps against 393-403 (experiments/RESULTS.md, Codec, 2026-12-08). Other OpenMP runtimes
(LLVM's, on macOS) read other variables: they keep PASSIVE. A setting of either variable by the
user wins. Set as the first thing a trainer does:
`os.environ.update(thread_waits(os.environ, sys.platform))`.
"""

from __future__ import annotations

from collections.abc import Mapping

WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
SPIN_COUNT = "3000"  # busy-wait loops before a thread sleeps (libgomp's default: 300,000)


def thread_waits(environ: Mapping[str, str], platform: str) -> dict[str, str]:
    """The variables to set in `environ` for a run on `platform` (`sys.platform`): none where
    the user chose already."""
    if any(name in environ for name in WAIT_VARIABLES):
        return {}
    if platform.startswith("linux"):
        return {"GOMP_SPINCOUNT": SPIN_COUNT}
    return {"OMP_WAIT_POLICY": "PASSIVE"}


def described_waits(environ: Mapping[str, str]) -> str:
    """The thread waits in `environ`, as a benchmark records them beside its speeds."""
    return ", ".join(f"{name} {environ.get(name, 'unset')}" for name in WAIT_VARIABLES)
