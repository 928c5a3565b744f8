"""Same-run variants for the report (``--threads 1,2``, ``--dtype float64,float32``): the
epoch of each kernel's compiled backend (its role in the registry: numba) at every dtype
x thread count, timed in one process with the rounds interleaved (round 1 of every
setting, then round 2, ...), so that a slow minute of a shared machine hits every
setting alike and the speed-ups are ratios of one run. Kernels that take ``out=`` run
their streaming epoch."""

from __future__ import annotations

import itertools
import statistics

from ...registry import available, get, role_of
from ..settings import K
from ..specs import SPECS
from ..timing.progress import bar as progress_bar
from ..timing.stopwatch import time_runs
from ..timing.threads import pin, pinned
from ..workloads import Workload


def time_variants(
    kernels, dtypes, threads, sizes=None, rounds: int = 5, examples=None, progress: bool = True
) -> dict:
    """``{"rows": [...], "threads": [...], "dtypes": [...]}``: per kernel x dtype x threads
    the median, min and max seconds per epoch (extrapolated when ``examples`` < 60,000),
    and the speed-ups of each thread count over the first and of float32 over float64."""
    kernels = [k for k in kernels if SPECS[k].variants and role_of(k, "compiled") in available(k)]
    works = {
        (k, dt): Workload(k, K, dt, examples, SPECS[k].streams, SPECS[k].pick(sizes or {}))
        for k in kernels
        for dt in dtypes
    }
    fn = {k: get(k, role_of(k, "compiled")) for k in kernels}
    settings = list(itertools.product(kernels, dtypes, threads))
    times: dict[tuple, list[float]] = {s: [] for s in settings}
    with progress_bar(progress) as bar, pinned(max(threads)):
        task = bar.add_task("variants", total=rounds * len(settings))
        for n in threads:  # compile every setting once, untimed
            pin(n)
            for k, dt in works:
                works[k, dt].warm_up(fn[k], works[k, dt].batches)
        for _ in range(rounds):
            for kernel, dtype, n in settings:
                bar.update(task, description=f"{kernel} {dtype} {n} thread(s)")
                pin(n)
                work = works[kernel, dtype]
                times[kernel, dtype, n] += time_runs(work, fn[kernel], work.batches, 1)
                bar.advance(task)
    rows = []
    for kernel, dtype, n in settings:
        scale = Workload.full_batches(100) / works[kernel, dtype].batches
        t = [x * scale for x in times[kernel, dtype, n]]
        rows.append(
            {
                "kernel": kernel,
                "backend": role_of(kernel, "compiled"),
                "dtype": dtype,
                "threads": n,
                "mode": "streaming" if SPECS[kernel].streams else "",
                "seconds_per_epoch": statistics.median(t),
                "seconds_min": min(t),
                "seconds_max": max(t),
                "extrapolated": scale > 1,
            }
        )
    median = {(r["kernel"], r["dtype"], r["threads"]): r["seconds_per_epoch"] for r in rows}
    for r in rows:
        r["speedup_vs_threads"] = (
            median[r["kernel"], r["dtype"], threads[0]] / r["seconds_per_epoch"]
        )
        f64 = median.get((r["kernel"], "float64", r["threads"]))
        r["speedup_vs_float64"] = None if f64 is None else f64 / r["seconds_per_epoch"]
    return {
        "rows": rows,
        "threads": list(threads),
        "dtypes": list(dtypes),
        "rounds": rounds,
        "backend": ", ".join(dict.fromkeys(r["backend"] for r in rows)),
    }
