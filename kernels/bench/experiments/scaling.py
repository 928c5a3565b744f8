"""``python -m kernels scaling``: how each backend's cost grows with the work.

Every axis through its values (``settings.Axis``; fewer with ``--quick``), on real
Fashion-MNIST: minibatch size K (every kernel, its other axes at their headline values)
and each kernel's own axes (a Spec's ``axes``: the MLP's hidden width dh, the images'
side, upsampled by pixel repetition), K = 100. Each point times enough calls of K
examples to last about ``budget`` seconds (at most one epoch as its Spec holds it:
60,000 examples, or 60,000 / scale^2 upsampled images), the median of a few rounds
after a warm-up call with the same shapes; so a backend at small K runs a slice of
the epoch, and its seconds per example are reported marked as such (``sliced``). A
point whose call, predicted from the previous point or probed, would exceed ``cap``
seconds (plain Python; 2 ``cap`` for the others) is skipped and says so. Outputs are
discarded between calls: these are cache-hot figures, like the report's cache-hot rows.

From the points: a cost model per kernel x backend x dtype, ``seconds per call =
overhead + work per call / rate`` (work = FLOP for the MLP, bytes for the others, the
models of ``specs.SPECS``), fitted by non-negative least squares on relative error;
the crossovers, where the fastest backend changes along an axis; and the record that
``kernels.fastest(kernel, size=K)`` reads (the K axis, seconds per example).
"""

from __future__ import annotations

import contextlib
import math
import statistics
from dataclasses import asdict

import numpy as np

from ...registry import entry, get, kernel_names, on_cpu
from ..points import Point, axis_kernels, bound_work, headline, leads, per_call, points_of
from ..points import grid as axis_grid
from ..settings import effort
from ..specs import SPECS
from ..timing import load
from ..timing.progress import bar as progress_bar
from ..timing.stopwatch import time_runs
from ..workloads import Workload
from .report import machine

MODE = "cache-hot: each call's output discarded before the next"


def time_point(
    point: Point, budget: float, rounds: int, cap: float, predicted: float | None
) -> Point:
    """Time ``point`` in place (or mark it skipped) and return it. ``cap`` applies to
    the plain-Python backends, and 2 ``cap`` to the others."""
    slow = entry(point.kernel, point.backend).slow
    limit = cap if slow else 2 * cap
    if predicted is not None and predicted > limit:
        point.skipped = f"a call would take about {predicted:.3g} s (cap {limit:g} s)"
        return point
    fn = get(point.kernel, point.backend)
    make = lambda n: Workload(point.kernel, K=point.K, dtype=point.dtype, n=n, sizes=point.sizes)
    K = point.K
    work = make(K)
    # one call, twice for a compiled backend (the first compiles): the probe
    times = time_runs(work, fn, 1, 1 if slow else 2)[-1:]
    if times[0] > limit:
        point.skipped = f"one call took {times[0]:.3g} s (cap {limit:g} s)"
        return point
    calls = max(1, min(round(budget / times[0]), SPECS[point.kernel].examples(point.sizes) // K))
    if calls > 1:
        work = make(calls * K)
        if not slow:
            work.warm_up(fn, work.batches)  # a jax epoch compiles per number of minibatches
        times = []
    # rounds within about rounds x budget; a call longer than that is timed once (the probe)
    more = max(1, min(rounds, round(rounds * budget / (times[0] * calls if times else budget))))
    with load.Watch() as seen:
        times += time_runs(work, fn, work.batches, more - len(times))
    point.others, point.busy = seen.others, seen.busy
    point.examples = work.n
    point.seconds_per_call = statistics.median(times) / work.batches
    point.spread = (max(times) - min(times)) / statistics.median(times)
    point.flop_per_call, point.bytes_per_call = per_call(point, "flop"), per_call(point, "bytes")
    return point


def plan(
    grid: dict, kernels=None, dtypes=("float64",), slow: bool = True, backends=None
) -> list[tuple]:
    """``(axis, Point)`` for every axis point, kernel, available backend and dtype, in
    increasing size along each axis (so that a point can predict the next). A point at
    the base values of every axis is listed once, on the first axis that has it."""
    seen, rows = set(), []
    for axis, sizes in grid.items():
        for kernel in (k for k in axis_kernels(axis) if k in (kernels or kernel_names())):
            for dtype in dtypes:
                for backend in on_cpu(kernel):
                    if (entry(kernel, backend).slow and not slow) or (
                        backends is not None and backend not in backends
                    ):
                        continue
                    for size in sorted(sizes):
                        p = Point.on_axis(kernel, backend, dtype, axis, size)
                        key = (kernel, backend, dtype, p.K, *p.sizes.values())
                        if key not in seen:
                            seen.add(key)
                            rows.append((axis, p))
    return rows


def sweep(
    grid=None,
    kernels=None,
    dtypes=("float64",),
    threads: int | None = 1,
    quick: bool = False,
    slow: bool = True,
    progress: bool = True,
    backends=None,
) -> dict:
    """Measure every point of ``plan`` (the process pinned to ``threads`` cores; None:
    the environment's setting, as autotune leaves it; ``backends``: only these, default
    every one); the result holds the machine, the rates of each dtype, the points, the
    fits and the crossovers."""
    from ..timing.threads import pinned

    grid = grid or axis_grid(quick, kernels)
    budget, rounds, cap = (
        getattr(effort("scaling", quick), a) for a in ("budget", "rounds", "cap")
    )
    with contextlib.nullcontext() if threads is None else pinned(threads):
        return _sweep(
            grid, kernels, dtypes, threads, quick, slow, progress, budget, rounds, cap, backends
        )


def _sweep(
    grid, kernels, dtypes, threads, quick, slow, progress, budget, rounds, cap, backends
) -> dict:
    from ..timing import limits

    rates = {dt: limits.machine_rates(dt, quick=True, threads=threads or 1) for dt in dtypes}
    todo = plan(grid, kernels, dtypes, slow, backends)
    points, last = [], {}
    with progress_bar(progress) as bar:
        task = bar.add_task("scaling", total=len(todo))
        for axis, p in todo:
            bar.update(task, description=f"{p.kernel} {p.backend} {p.dtype} {axis}={p.size(axis)}")
            series = (axis, p.kernel, p.backend, p.dtype)
            prev = last.get(series)
            predicted = (
                None
                if prev is None
                else prev.seconds_per_call
                * per_call(p, SPECS[p.kernel].bound)
                / per_call(prev, SPECS[p.kernel].bound)
            )
            points.append(time_point(p, budget, rounds, cap, predicted))
            if p.seconds_per_call is not None:
                last[series] = p
            bar.advance(task)
    result = {
        "machine": machine(threads, rates[dtypes[0]]),
        "rates": rates,
        "mode": MODE,
        "grid": {a: list(s) for a, s in grid.items()},
        "quick": quick,
        "points": [asdict(p) for p in points],
    }
    result["fits"] = fits(result)
    result["crossovers"] = crossovers(result)
    return result


def fits(result: dict) -> list[dict]:
    """Per kernel x backend x dtype, ``seconds per call = overhead + work / rate`` fitted
    to every measured point (all axes) by non-negative least squares on relative
    error; with the fit's median and largest relative error."""
    from scipy.optimize import nnls

    out = []
    series = {(p.kernel, p.backend, p.dtype) for p in points_of(result)}
    for kernel, backend, dtype in sorted(series):
        pts = points_of(result, kernel=kernel, backend=backend, dtype=dtype)
        if len(pts) < 3:
            continue
        t = np.array([p.seconds_per_call for p in pts])
        w = np.array([bound_work(p) for p in pts])
        (overhead, inverse_rate), _ = nnls(
            np.column_stack([np.ones_like(w), w]) / t[:, None], np.ones_like(t)
        )
        errors = np.abs((overhead + w * inverse_rate) / t - 1)
        out.append(
            {
                "kernel": kernel,
                "backend": backend,
                "dtype": dtype,
                "points": len(pts),
                "overhead_us": 1e6 * overhead,
                "rate": math.inf if inverse_rate == 0 else 1 / inverse_rate,
                "unit": "FLOP/s" if SPECS[kernel].bound == "flop" else "B/s",
                "median_error": float(np.median(errors)),
                "max_error": float(errors.max()),
            }
        )
    return out


def crossovers(result: dict) -> list[dict]:
    """Where the fastest backend changes along each axis: the two sizes around the change
    and the winners on either side. A size counts only where its fastest backend leads
    every other by more than their measured spread (``points.leads``); where two tie,
    the noise would decide, so no crossover starts or ends there."""
    out = []
    for axis, sizes in result["grid"].items():
        for kernel in axis_kernels(axis):
            for dtype in result["rates"]:
                winners = []
                for size in sorted(sizes):
                    at = {**headline(kernel), axis: size}
                    pts = sorted(
                        points_of(result, kernel=kernel, dtype=dtype, **at),
                        key=lambda p: p.seconds_per_call,
                    )
                    if pts and all(leads(pts[0], p) for p in pts[1:]):
                        winners.append((size, pts[0].backend))
                for (a, wa), (b, wb) in zip(winners, winners[1:]):
                    if wa != wb:
                        out.append(
                            {
                                "axis": axis,
                                "kernel": kernel,
                                "dtype": dtype,
                                "between": [a, b],
                                "from": wa,
                                "to": wb,
                            }
                        )
    return out


def selection(result: dict) -> dict:
    """The K axis as the record ``kernels.fastest`` reads: seconds per example of every
    backend it may pick, ``{kernel: {dtype: {K: {backend: seconds}}}}``."""
    record: dict = {}
    for p in points_of(result, base=True):
        if not entry(p.kernel, p.backend).slow:
            record.setdefault(p.kernel, {}).setdefault(p.dtype, {}).setdefault(str(p.K), {})[
                p.backend
            ] = p.seconds_per_example
    return record
