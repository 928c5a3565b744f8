"""The stopwatch every experiment shares: whole calls of an epoch (or a slice of it),
timed with garbage collection paused, and the extrapolation of a slice to the epoch."""
from __future__ import annotations

import gc
import statistics
import time

SPREAD_WARNING = 0.10          # (max - min) / median of a row's rounds above this is flagged


def time_runs(work, fn, batches: int, rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` calls of ``work.run(fn, batches)`` (``work``: a
    ``workloads.Workload``), garbage collection paused while timing, as timeit does
    (and, like timeit, no forced collection: with jax's caches alive one costs 0.15 s).
    Warm up (compile) before calling this."""
    times = []
    for _ in range(rounds):
        gc.disable()
        try:
            start = time.perf_counter()
            work.run(fn, batches)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def time_run(work, fn, batches: int, rounds: int) -> float:
    """Median of ``time_runs``."""
    return statistics.median(time_runs(work, fn, batches, rounds))


def extrapolate(seconds: float, batches_timed: int, batches_per_epoch: int) -> float:
    """Seconds per epoch from the time of the first ``batches_timed`` minibatches."""
    return seconds * batches_per_epoch / batches_timed
