"""The stopwatch every experiment and limit shares: calls timed with garbage collection
paused (whole calls of an epoch or a slice of it, a rate's operation, a device's work
up to its synchronisation), and the extrapolation of a slice to the epoch."""

from __future__ import annotations

import gc
import statistics
import time

SPREAD_WARNING = 0.10  # (max - min) / median of a row's rounds above this is flagged


def seconds(call, rounds: int, sync=None) -> list[float]:
    """Seconds of each of ``rounds`` calls of ``call()`` (then ``sync(its result)``, which
    waits for a device), garbage collection paused while timing, as timeit does (and,
    like timeit, no forced collection: with jax's caches alive one costs 0.15 s). Warm
    up (compile, first touch) before calling this."""
    times = []
    for _ in range(rounds):
        gc.disable()
        try:
            start = time.perf_counter()
            result = call()
            if sync is not None:
                sync(result)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def time_runs(work, fn, batches: int, rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` calls of ``work.run(fn, batches)`` (``work``: a
    ``workloads.Workload``)."""
    return seconds(lambda: work.run(fn, batches), rounds)


def time_run(work, fn, batches: int, rounds: int) -> float:
    """Median of ``time_runs``."""
    return statistics.median(time_runs(work, fn, batches, rounds))


def extrapolate(seconds: float, batches_timed: int, batches_per_epoch: int) -> float:
    """Seconds per epoch from the time of the first ``batches_timed`` minibatches."""
    return seconds * batches_per_epoch / batches_timed
