"""Decode several files of a scan at once: each worker streams its own file into its own cache
entry, and the facts come back in the folder's order, so a parallel scan reports exactly what a
serial one does. Memory is a few blocks per worker, whatever the files' lengths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from sda.dataset.cache import AudioCache, AudioEntryWriter
from sda.dataset.measure import measure_file

MAX_SCAN_WORKERS = 4  # decoding is bound by the disk and the cores; more rarely pays


def default_scan_workers() -> int:
    """Files decoded at once by default: one per core, at most MAX_SCAN_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_SCAN_WORKERS))


def measure_into_cache(
    path: Path, sample_rate: int, cache: AudioCache | None, channels: int = 1
) -> tuple[dict, str]:
    """Stream one file into the cache (mono, or left/right for `channels=2`) -> (facts, why its
    audio could not be cached or "")."""
    if cache is None:
        return measure_file(path, sample_rate)[0], ""
    writers: list[AudioEntryWriter] = []
    problems: list[str] = []

    def open_entry(blocks) -> AudioEntryWriter | None:
        declared = blocks.declared_frames
        expected = declared * sample_rate // blocks.sample_rate if 0 < declared < 1 << 40 else 0
        writer = cache.writer(path, sample_rate, expected_samples=expected, channels=channels)
        if isinstance(writer, str):
            problems.append(writer)
            return None
        writers.append(writer)
        return writer

    try:
        info, has_audio = measure_file(path, sample_rate, open_entry, channels=channels)
    except BaseException:
        for writer in writers:
            writer.discard()
        raise
    if not writers:  # unreadable, or the cache could not take the audio: keep the facts
        cache.put(path, sample_rate, info, channels=channels)
        return info, "".join(problems)
    writer = writers[0]
    if "error" in info:
        writer.discard()
    elif has_audio:
        writer.commit(info)
    else:
        writer.discard(info)  # silent or NaN: the facts are worth keeping, the audio is not
    return info, writer.problem


def _measure_safely(
    path: Path, sample_rate: int, cache: AudioCache | None, channels: int
) -> tuple[dict, str]:
    """`measure_into_cache` that turns anything one file can throw into its verdict."""
    try:
        return measure_into_cache(path, sample_rate, cache, channels)
    except Exception as error:  # a scan must survive anything one file can throw
        return {"error": f"could not be read ({type(error).__name__}: {error})"}, ""


def measure_in_order(
    paths: list[Path],
    sample_rate: int,
    cache: AudioCache | None,
    *,
    workers: int = 1,
    channels: int = 1,
) -> Iterator[tuple[dict, str]]:
    """(facts, cache problem) for each of `paths`, in their order, `workers` files at a time;
    the cached audio is mono, or left/right for `channels=2`.

    Threads, not processes: the decoder (libsndfile) and numpy's block arithmetic release the
    GIL, and threads start instantly in any program (no re-import of the caller, no fork of a
    process that holds torch's threads). Stopping early (Ctrl-C) cancels the files not started.
    """
    if workers <= 1 or len(paths) < 2:
        for path in paths:
            yield _measure_safely(path, sample_rate, cache, channels)
        return
    pool: Executor = ThreadPoolExecutor(
        max_workers=min(workers, len(paths)), thread_name_prefix="sda-scan"
    )
    try:
        futures = [
            pool.submit(_measure_safely, path, sample_rate, cache, channels) for path in paths
        ]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
