"""Small decodes run side by side on a CPU, each on one torch thread.

A codec window's convolutions are too small for torch's own threads to help: on 2 cores the
256-frame windows of a 20 s grid decode one after another in 97 ms on 2 threads and 98 ms on 1,
while two such grids decoded side by side, one thread each, take 109 ms in all
(experiments/RESULTS.md, Prior, "windows decoded side by side"). So a long grid's windows decode
in a thread pool of torch's thread count, with torch on one thread meanwhile. (A stereo grid's
mid and side decoded this way gained 5 ms of 61 on a 4.6 s loop: not done.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")


def side_by_side(
    job: Callable[[Item], Result],
    items: list[Item],
    *,
    on_cpu: bool,
    ahead: int = 4,
    workers: int | None = None,
) -> Iterator[Result]:
    """`job(item)` for each item, in order. On a CPU with torch on more than one thread, as many
    at once as torch has threads (at most `ahead` times that many results waiting), each job in
    inference mode on one torch thread; elsewhere, or for one item, one after another.
    `workers`: that many at once instead (for callers already on one torch thread, such as a
    steering hook inside the sampling loop, whose machine has more cores)."""

    def run(item: Item) -> Result:
        with torch.inference_mode():  # thread-local: a worker thread does not inherit it
            return job(item)

    threads = torch.get_num_threads()
    workers = threads if workers is None else workers
    if not on_cpu or workers <= 1 or len(items) < 2:
        yield from map(run, items)
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
            for first in range(0, len(items), ahead * workers):
                yield from pool.map(run, items[first : first + ahead * workers])
    finally:
        torch.set_num_threads(threads)
