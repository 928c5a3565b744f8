"""``python -m kernels autotune``: the K axis of the scaling sweep (every backend that
``kernels.fastest`` may pick, both dtypes, real Fashion-MNIST minibatches), recorded in
this machine's cache; ``kernels.fastest(kernel, size=rows)`` then picks the winner at
the measured K nearest to the call's rows."""
from __future__ import annotations

from ..registry import KERNELS
from ..select import check_writable, save_record
from . import scaling


def run(kernels=KERNELS, dtypes=("float64", "float32"), threads: int | None = None, quick: bool = False,
        progress: bool = True, save: bool = True) -> dict:
    """Seconds per example of every non-plain-Python backend along the K axis (the
    process pinned to ``threads`` cores when given; else the environment's setting), as
    ``{kernel: {dtype: {K: {backend: seconds}}}}``; saved as the record."""
    if save:
        check_writable()              # before minutes of timing, not after
    grid = {"K": (scaling.QUICK_GRID if quick else scaling.GRID)["K"]}
    sweep = scaling.sweep(grid, kernels, dtypes, threads=threads, quick=quick, slow=False,
                          progress=progress)
    results = scaling.selection(sweep)
    if save:
        save_record(results)
    return results


def winners(results: dict):
    """Rows ``(kernel, dtype, K, winner, margin)``; margin = runner-up time / winner's."""
    for kernel, by_dtype in results.items():
        for dtype, by_size in by_dtype.items():
            for size, timings in sorted(by_size.items(), key=lambda kv: int(kv[0])):
                ranked = sorted(timings, key=timings.get)
                margin = timings[ranked[1]] / timings[ranked[0]] if len(ranked) > 1 else None
                yield kernel, dtype, int(size), ranked[0], margin
