"""What one drawn column of the prior costs on one CPU thread, per prior size: the whole column
(the network with its KV cache, the head, the draw), and the head and the draw alone, each the
old way (float32 head, `torch.multinomial`) and the way sampling runs now
(`sda.generate.sampling_head`, `sda.generate.sampling.draw_classes`).

    python experiments/bench_prior_column.py [--shapes 8x64,16x128,16x256,16x1024] [--no-record]

Shapes are grid levels x codes (a stereo prior's grid stacks the mid's and the side's levels);
rows are the batch a column is drawn for (1: one take; 2: guidance; 4: guidance x 2 candidates).
The weights are random (prior_small's sizes): the cost does not depend on them. Records the table
at the end of the "## Prior" section of experiments/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import torch
import torch.nn.functional as F
from results_file import record

from sda.generate.sampling import draw_classes
from sda.generate.sampling_head import native_bf16, sampling_head
from sda.models.prior import Prior, PriorConfig

ROWS = (1, 2, 4)
COLUMNS = 120  # per timing; the best of ROUNDS is kept
ROUNDS = 5


def per_call_ms(fn, calls: int) -> float:
    """Milliseconds per call of the fastest of ROUNDS rounds of `calls` calls."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def column_ms(prior: Prior, rows: int, head, draw) -> float:
    """One cached column through the network, `head` and `draw`, per call (ms)."""
    condition = prior.condition(None, None, rows, torch.device("cpu"))
    modulation = prior.modulate(condition)
    levels, codes = prior.config.num_levels, prior.config.codebook_size
    tokens = torch.zeros(rows, levels, 1, dtype=torch.long)
    generator = torch.Generator().manual_seed(0)
    state = {}

    def one_window():
        cache = prior.new_cache(rows, like=condition)
        for offset in range(COLUMNS):
            logits = prior.forward_columns(
                tokens, modulation.steps(offset, 1), cache=cache, offset=offset, head=head
            )[:, :, -1]
            state["drawn"] = draw(logits.reshape(-1, codes), generator)

    return per_call_ms(one_window, 1) / COLUMNS


def multinomial(logits, generator):
    return torch.multinomial(logits.float().softmax(-1), 1, generator=generator).squeeze(-1)


def measure_rows(prior: Prior, fast_head, rows: int) -> dict:
    """Head, draw and whole-column costs (ms) for `rows` rows, before and now."""
    levels, codes = prior.config.num_levels, prior.config.codebook_size
    x = torch.randn(rows, prior.config.dim)
    logits = torch.randn(rows * levels, codes) * 3
    generator = torch.Generator().manual_seed(0)
    head = prior.head
    return {
        "shape": f"{levels} x {codes}", "rows": rows,
        "head_old": per_call_ms(lambda: F.linear(x, head.weight, head.bias), 400),
        "head_new": per_call_ms(lambda: fast_head(x), 400),
        "draw_old": per_call_ms(lambda: multinomial(logits, generator), 400),
        "draw_new": per_call_ms(lambda: draw_classes(logits, generator), 400),
        "column_old": column_ms(prior, rows, head, multinomial),
        "column_new": column_ms(prior, rows, fast_head, draw_classes),
    }  # fmt: skip


def measure_shape(levels: int, codes: int) -> list[dict]:
    torch.manual_seed(0)
    config = PriorConfig(num_levels=levels, codebook_size=codes, dim=192, layers=4, heads=4)
    prior = Prior(config).eval()
    fast_head = sampling_head(prior)
    found = []
    with torch.inference_mode():
        for rows in ROWS:
            found.append(measure_rows(prior, fast_head, rows))
            print(found[-1], flush=True)
    return found


def table(rows: list[dict]) -> str:
    lines = [
        "| grid levels x codes | rows | head ms (float32 / now) | draw ms (multinomial / now) "
        "| column ms (before / now) | x real time of the prior alone at 46.9 columns/s (before / now) |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for r in rows:
        speeds = " / ".join(f"{1000 / (46.875 * r[k]):.1f}" for k in ("column_old", "column_new"))
        lines.append(
            f"| {r['shape']} | {r['rows']} | {r['head_old']:.3f} / {r['head_new']:.3f} | "
            f"{r['draw_old']:.3f} / {r['draw_new']:.3f} | {r['column_old']:.2f} / "
            f"{r['column_new']:.2f} | {speeds} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default="8x64,16x128,16x256,16x1024", help="LxK,...")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as sampling runs (`sda.generate.sampling.one_cpu_thread`)
    rows = []
    for shape in args.shapes.split(","):
        levels, codes = (int(part) for part in shape.lower().split("x"))
        rows += measure_shape(levels, codes)
    text = (
        f"{date.today()}, `experiments/bench_prior_column.py --shapes {args.shapes}`, "
        f"{platform.machine()}, torch {torch.__version__}, 1 thread (load average "
        f"{os.getloadavg()[0]:.1f} at the end), native bfloat16: {native_bf16()}; prior_small "
        f"(dim 192, 4 layers), random weights, best of {ROUNDS} rounds.\n\n" + table(rows)
    )
    print(text)
    if not args.no_record:
        record("Prior", text)


if __name__ == "__main__":
    main()
