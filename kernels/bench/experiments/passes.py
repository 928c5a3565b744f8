"""One point of autotune (a kernel, a dtype, a minibatch size K): every backend
``kernels.fastest`` may pick, timed in passes as a user's process runs it.

Every candidate runs real Fashion-MNIST minibatches of K, compiled and warmed with the
timed shapes first, in ``PASSES`` passes over the backends. In a pass each backend
first runs untimed for ``SETTLE`` seconds, then its best of ``CALLS`` timed calls is its
figure: a backend timed right after another finds that one's BLAS or numba threads
still spinning (numba's epoch ran 10x slower right after numpy's), which a user's
process, calling one backend, never sees. Recorded per backend: the median of its pass
figures in seconds per example, and its spread against the ranked backend R: the
relative spread ``(max - min) / min`` of the per-pass ratios ``b / R``. The two are
timed a moment apart in each pass, so a neighbour that slows the machine for a while
slows both and cancels from the ratio, not from either figure alone. ``choose`` lets b
override the ranking only when its margin exceeds ``1 + spread``. While the fastest
backend is ahead of R by more than ``CLOSE`` but not yet by more than its spread,
another pass is run, up to ``MAX_PASSES``; from ``TRIM_FROM`` passes on, the one ratio
farthest from the median is left out of the spread (a burst that hit one backend in
one pass). A backend more than ``HOPELESS`` times slower than the fastest on one
minibatch is never run on the whole slice, and one more than ``CONTENDER`` times slower
on the slice cannot win: both are left out of the passes (the references never are).
"""

from __future__ import annotations

import math
import statistics
import time

from ...registry import entry, get, on_cpu
from ...select import ranked
from ...select import reference as reference_of
from ..specs import SPECS
from ..timing.stopwatch import time_runs
from ..workloads import Workload

PASSES = 3  # passes over the backends at least,
MAX_PASSES = 9  # and at most, while the lead is unclear
CALLS = 3  # timed calls per backend and pass (the best is its figure)
SETTLE = 0.15  # seconds each backend runs untimed before its calls
TRIM_FROM = 5  # from this many passes on, the most outlying ratio is left out
CLOSE = 1.03  # a lead this small is not worth more passes: the ranking stands
CONTENDER = 2.0  # slower than the fastest probe by this factor: cannot win, not timed on
HOPELESS = 8.0  # slower on one minibatch by this factor: not even probed on the whole slice
ONE_CALL_EXAMPLES = 12_000  # examples per timed call of a kernel called once per epoch


def unclear(kernel: str, times: dict[str, list[float]]) -> float:
    """The spread the point's decision rests on, where it is unclear: the fastest
    backend's spread against the ranked one when its lead lies inside that spread (a
    tie, and one that a spread this wide cannot settle); 0 when the lead is beyond its
    spread (a clear pick, whatever the spread) or the ranked backend is fastest."""
    margin, spread = _lead(kernel, times)
    return spread if margin <= 1 + spread else 0.0


def _lead(kernel: str, times: dict[str, list[float]]) -> tuple[float, float]:
    """The fastest backend's margin over the ranked one (median over median) and its
    spread against it; ``(inf, 0)`` where the ranked one is fastest or was not timed."""
    reference = reference_of(kernel, times)
    if reference not in times:
        return math.inf, 0.0
    median = {b: statistics.median(t) for b, t in times.items()}
    best = min(median, key=median.get)
    if best == reference:
        return math.inf, 0.0
    return median[reference] / median[best], spreads(kernel, times)[best]


def candidates(kernel: str) -> list[str]:
    """The backends ``fastest`` may pick: available on the CPU and not plain Python."""
    return [b for b in on_cpu(kernel) if not entry(kernel, b).slow]


def threaded(kernel: str) -> list[str]:
    """The candidates that split their work over numba's threads (each has a one-thread
    twin among the candidates): their timings hang on the thread pool's fork/join."""
    return [b for b in candidates(kernel) if entry(kernel, b).serial]


def measure_point(
    kernel: str, dtype: str, K: int, budget: float, cap: float, examples: int | None = None
) -> dict[str, list[float]]:
    """Seconds per example of each candidate at minibatch size K, one figure per pass
    (see the module docstring). Each timed call runs as many minibatches of K as last
    about ``budget`` seconds (at most an epoch; at least one; at most ``examples``
    examples); a backend whose single minibatch takes over ``cap`` seconds is left out.
    A kernel called once per pass over a training set (``Spec.one_call``: the SGD
    epoch) is timed on the same ``ONE_CALL_EXAMPLES`` for every backend, so that each
    call's fixed costs (a thread pool's limits, dispatch) weigh as they do in training."""
    works, fns, per_example, probes = {}, {}, {}, {}
    one_call = SPECS[kernel].one_call
    keep = {ranked(kernel), ranked(kernel, threads=False)}  # the references are always timed
    for backend in candidates(kernel):
        fn = get(kernel, backend)
        probe = Workload(kernel, K=K, dtype=dtype, n=K)
        probe.warm_up(fn)  # compile with the real shapes and dtype
        first = min(time_runs(probe, fn, 1, 3))
        if first <= cap:
            fns[backend], probes[backend] = fn, first
    # hopeless on one minibatch (the per-example loop): never warmed on the whole slice
    quickest = min(probes.values(), default=0.0)
    for backend, first in probes.items():
        fn = fns[backend]
        if backend not in keep and first > HOPELESS * quickest:
            continue
        if one_call:
            n = max(K, min(ONE_CALL_EXAMPLES, examples or ONE_CALL_EXAMPLES))
        else:
            calls = max(1, min(round(budget / first), Workload.full_batches(K)))
            n = calls * K if examples is None else max(K, min(calls * K, examples))
        work = Workload(kernel, K=K, dtype=dtype, n=n)
        work.warm_up(fn, work.batches)  # a jax epoch compiles per number of minibatches
        works[backend], fns[backend] = work, fn
        per_example[backend] = min(time_runs(work, fn, work.batches, 1)) / work.n
    fastest = min(per_example.values(), default=0.0)
    works = {b: w for b, w in works.items() if b in keep or per_example[b] <= CONTENDER * fastest}
    times: dict[str, list[float]] = {b: [] for b in works}
    while len(next(iter(times.values()), [])) < PASSES or undecided(kernel, times):
        for backend, work in works.items():
            settle(work, fns[backend])
            best = min(time_runs(work, fns[backend], work.batches, CALLS))
            times[backend].append(best / work.n)
    return times


def undecided(kernel: str, times: dict[str, list[float]]) -> bool:
    """Another pass is worth it: fewer than ``MAX_PASSES`` so far and the fastest backend
    leads the ranked one by more than ``CLOSE`` but not by more than its spread."""
    reference = reference_of(kernel, times)
    if reference not in times or len(times[reference]) >= MAX_PASSES:
        return False
    margin, spread = _lead(kernel, times)
    return CLOSE < margin <= 1 + spread


def settle(work, fn) -> None:
    """Run ``fn`` untimed for ``SETTLE`` seconds (at least once): the threads of the
    backend timed before go idle, this one's are running."""
    end = time.perf_counter() + SETTLE
    while True:
        work.run(fn)
        if time.perf_counter() > end:
            return


def spreads(kernel: str, times: dict[str, list[float]]) -> dict[str, float]:
    """Per backend b other than the ranked one R: the relative spread ``(max - min) / min``
    of the per-pass ratios ``b[i] / R[i]`` (pass i times both a moment apart); from
    ``TRIM_FROM`` passes on, without the one ratio farthest from their median."""
    reference = reference_of(kernel, times)
    if reference not in times:
        return {}
    spread = {}
    for b, t in times.items():
        if b != reference:
            ratios = sorted(x / r for x, r in zip(t, times[reference]))
            if len(ratios) >= TRIM_FROM:
                # a burst that hit one backend of one pass is outvoted by the others:
                # drop the ratio farthest from the median
                middle = statistics.median(ratios)
                ratios = ratios[1:] if middle - ratios[0] > ratios[-1] - middle else ratios[:-1]
            spread[b] = (ratios[-1] - ratios[0]) / ratios[0]
    return spread
