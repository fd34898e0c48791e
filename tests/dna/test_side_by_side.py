"""Jobs side by side: results in order, torch's threads restored, each job in inference mode."""

import threading
import time

import torch

from sda.dna.side_by_side import side_by_side


def test_jobs_run_on_several_threads_and_come_back_in_order():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    seen: list[tuple[str, int, bool]] = []

    def job(item: int) -> int:
        seen.append((threading.current_thread().name, torch.get_num_threads(),
                     torch.is_inference_mode_enabled()))  # fmt: skip
        time.sleep(0.01)  # long enough that the second worker takes a job meanwhile
        return item * item

    try:
        assert list(side_by_side(job, list(range(11)), on_cpu=True, ahead=1)) == [
            i * i for i in range(11)
        ]
        assert torch.get_num_threads() == 2  # restored
        assert all(count == 1 and inference for _, count, inference in seen)
        assert len({name for name, _, _ in seen}) == 2  # two workers shared the jobs
        seen.clear()
        assert list(side_by_side(job, [3], on_cpu=True)) == [9]  # one job: on the caller
        assert list(side_by_side(job, [1, 2], on_cpu=False)) == [1, 4]  # not on a CPU: in turn
        assert {name for name, _, _ in seen} == {threading.current_thread().name}
    finally:
        torch.set_num_threads(threads)


def test_workers_given_run_side_by_side_from_a_caller_on_one_thread():
    """A steering hook runs inside the sampling loop, where torch is on one thread: told how
    many workers the machine has, it still shares its jobs out, and leaves torch as it was."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    names: set[str] = set()

    def job(item: int) -> int:
        names.add(threading.current_thread().name)
        time.sleep(0.01)
        return -item

    try:
        assert list(side_by_side(job, [1, 2, 3, 4], on_cpu=True, workers=2)) == [-1, -2, -3, -4]
        assert len(names) == 2 and torch.get_num_threads() == 1
        names.clear()
        assert list(side_by_side(job, [1, 2], on_cpu=True)) == [-1, -2]  # torch's count: 1
        assert names == {threading.current_thread().name}
    finally:
        torch.set_num_threads(threads)
