"""``python -m kernels autotune``: time each available backend of each kernel on real
Fashion-MNIST minibatches at a few size classes and both dtypes, and record the
winners for ``kernels.fastest`` in this machine's cache."""
from __future__ import annotations

from ..data import SIZES
from ..registry import KERNELS, available, entry, get
from ..select import SIZE_CLASSES, check_writable, save_record
from .report import time_run
from .workloads import Workload

CALLS = 2_000          # rows timed per size class: 2,000 calls at K = 1, 20 at K = 100, ...


def run(kernels=KERNELS, dtypes=("float64", "float32"), sizes=SIZE_CLASSES, threads=None,
        rounds: int = 3, progress: bool = True, save: bool = True) -> dict:
    """Median seconds per row of every non-plain-Python backend (the process pinned to
    ``threads`` cores when given), as
    ``{kernel: {dtype: {size class: {backend: seconds}}}}``; saved as the record."""
    from rich.progress import Progress
    if save:
        check_writable()              # before minutes of timing, not after
    if threads is not None:
        from .threads import pin
        pin(threads)
    plan = [(k, dt, K) for k in kernels for dt in dtypes for K in sizes]
    results: dict = {}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("autotune", total=len(plan))
        for kernel, dtype, K in plan:
            bar.update(task, description=f"{kernel} {dtype} K={K}")
            work = Workload(kernel, K=K, dtype=dtype, n=max(K, min(CALLS, SIZES["train"] // K * K)))
            timings = {}
            for backend in available(kernel):
                if entry(kernel, backend).slow:
                    continue                # never chosen while another backend can run
                fn = get(kernel, backend)
                work.warm_up(fn, work.batches)
                timings[backend] = time_run(work, fn, work.batches, rounds) / work.n
            results.setdefault(kernel, {}).setdefault(dtype, {})[str(K)] = timings
            bar.advance(task)
    if save:
        save_record(results)
    return results


def winners(results: dict):
    """Rows ``(kernel, dtype, size class, winner, margin)``; margin = runner-up time / winner's."""
    for kernel, by_dtype in results.items():
        for dtype, by_size in by_dtype.items():
            for size, timings in by_size.items():
                ranked = sorted(timings, key=timings.get)
                margin = timings[ranked[1]] / timings[ranked[0]] if len(ranked) > 1 else None
                yield kernel, dtype, int(size), ranked[0], margin
