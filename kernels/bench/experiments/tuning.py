"""``python -m kernels autotune``: which backend ``kernels.fastest`` should hand out on
this machine, measured as a user's process runs it.

Conditions: the process keeps the thread settings it was started with (numba's thread
pool, BLAS threads, affinity), as a default user process has them; nothing is pinned
unless ``--threads`` asks, and those conditions go into the record's fingerprint, so a
process started otherwise ignores the record. numba's split-over-threads and one-thread
variants (``numba`` and ``numba-serial``) are both measured, so the thread count is part
of the choice.

Per kernel, dtype and minibatch size K, every backend ``fastest`` may pick runs real
Fashion-MNIST minibatches of K, compiled and warmed with the timed shapes first, in
``PASSES`` passes over the backends. In a pass each backend first runs untimed for
``SETTLE`` seconds, then its best of ``CALLS`` timed calls is its figure: a backend
timed right after another finds that one's BLAS or numba threads still spinning
(measured here: numba's epoch 10x slower right after numpy's), which a user's process,
calling one backend, never sees. Recorded per backend: the median of its pass figures
in seconds per example, and its spread against the ranked backend R: the relative
spread ``(max - min) / min`` of the per-pass ratios ``b / R``. The two are timed a
moment apart in each pass, so a neighbour that slows the machine for a while slows
both and cancels from the ratio, not from either figure alone. ``choose`` lets b
override the ranking only when its margin exceeds ``1 + spread``. While the fastest
backend is ahead of R by more than ``CLOSE`` but not yet by more than its spread,
another pass is run, up to ``MAX_PASSES``; from ``TRIM_FROM`` passes on, the one ratio
farthest from the median is left out of the spread (a burst that hit one backend in
one pass). A quick sweep stops early where the answer is clear, measures longer only
where it is not, and never picks on noise.

A busy machine never writes the record. Each point is measured with the CPU time that
other work took meanwhile (``load.others``: other processes, other guests' steal); a
point where others took more than ``LOAD_BOUND`` of a core, or whose decision is a tie
inside a spread wider than ``SPREAD_BOUND`` (``unclear``), or, for a kernel numba
splits over threads, where numba's fork/join ran over ``FORK_JOIN_BOUND`` times its
best of the run (``load.fork_join``: a shared host slows it for tens of seconds with
nothing else running), is measured again after ``WAIT`` seconds, up to ``TRIES`` times;
if it stays disturbed the run stops (``MachineBusy``) and the previous record is left
as it was. The record keeps, per point, the load, the spread, the fork/join ratio and
the tries.
Backends more than ``CONTENDER`` times slower than the fastest in the first probe
cannot win: they are left out of the passes (the ranked backend never is).
"""
from __future__ import annotations

import statistics
import time

from ...registry import kernel_names, entry, get, on_cpu
from ...record import check_writable, save_record
from ...select import choose_from, ranked
from ..timing import load
from ..timing.stopwatch import time_runs
from ..settings import effort
from ..workloads import SPECS, Workload

PASSES, MAX_PASSES, CALLS, SETTLE = 3, 9, 3, 0.15
TRIM_FROM = 5
CLOSE = 1.03   # a lead this small is not worth more passes: the ranking stands either way
SPREAD_BOUND = 0.25   # no saved tie rests on a wider spread (a pick's lead exceeds its spread)
LOAD_BOUND = 0.25     # cores' worth of CPU time others may take while a point is measured
TRIES, WAIT = 3, 8.0  # measurements of a disturbed point, seconds between them (a host's
                      # slow spells last 10-30 s on the Zen 4 guest)
FORK_JOIN_BOUND = 1.3  # numba's fork/join this many times its best of the run: disturbed
                       # (best of three probes: quiet 1.0-1.1 us, slow spells 1.5-2.9 us, Zen 4)
CONTENDER = 2.0       # slower than the fastest probe by this factor: cannot win, not timed on
ONE_CALL_EXAMPLES = 12_000   # examples per timed call of a kernel called once per epoch


# what a run took, measured on a quiet 2-vCPU AMD EPYC Zen 4 guest, 2026-12-04 (the help
# texts say it)
QUICK_TIME = "75-130 s on a quiet 2-vCPU AMD EPYC Zen 4, longer while it waits out a busy spell"
FULL_TIME = "8 min"


class MachineBusy(RuntimeError):
    """Other work disturbed the timings more than the margins they would decide on."""


def autotune(kernels=None, dtypes=("float64", "float32"), threads: int | None = None,
        quick: bool = False, progress: bool = True, save: bool = True,
        sizes: tuple[int, ...] | None = None, examples: int | None = None) -> dict:
    """Measure and (``save``) record ``{"results": {kernel: {dtype: {K: {backend: s}}}},
    "spread": {...}, "passes": {...}}``: seconds per example (median of the passes) and
    each backend's spread against the ranked backend. ``threads``: pin first
    (else the process's own settings); ``examples``: at most this many examples per
    timed call sequence (a slice, for tests)."""
    from rich.progress import Progress, TimeRemainingColumn
    kernels = kernels or kernel_names()
    if save:
        check_writable()              # before minutes of timing, not after
    if threads is not None:
        from ..timing.threads import pin
        pin(threads)
    sizes = sizes or effort("autotune", quick).sizes
    budget, cap = effort("autotune", quick).budget, effort("autotune", quick).cap
    plan = [(k, dt, K) for k in kernels for dt in dtypes for K in sizes]
    results: dict = {}
    spread: dict = {}
    passes: dict = {}
    noise: dict = {}
    with Progress(*Progress.get_default_columns(), TimeRemainingColumn(elapsed_when_finished=True),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("autotune", total=len(plan))
        for kernel, dtype, K in plan:
            bar.update(task, description=f"{kernel} {dtype} K = {K}")
            times, seen = measure_quietly(kernel, dtype, K, budget, cap, examples)
            if times:
                key = str(K)
                results.setdefault(kernel, {}).setdefault(dtype, {})[key] = \
                    {b: statistics.median(t) for b, t in times.items()}
                spread.setdefault(kernel, {}).setdefault(dtype, {})[key] = spreads(kernel, times)
                passes.setdefault(kernel, {}).setdefault(dtype, {})[key] = times
                noise.setdefault(kernel, {}).setdefault(dtype, {})[key] = seen
            bar.advance(task)
    if save:
        save_record(results, spread, noise)
    return {"results": results, "spread": spread, "passes": passes, "noise": noise}


def measure_quietly(kernel: str, dtype: str, K: int, budget: float, cap: float,
                    examples: int | None = None) -> tuple[dict[str, list[float]], dict]:
    """``measure_point``, measured again while the machine was disturbed (see the module
    docstring): the times and ``{"others": cores others took, "spread": the spread the
    decision rests on, "tries": n, "fork_join": its ratio to the run's best}``; raises
    MachineBusy when every try was disturbed."""
    for attempt in range(1, TRIES + 1):
        now = load.others_now()
        if now is not None and now > LOAD_BOUND:     # busy already: measure nothing yet
            others, loose, slow = now, 0.0, 1.0
            if attempt < TRIES:
                time.sleep(WAIT)
            continue
        # the fork/join matters where numba splits the kernel over threads (it then has
        # a one-thread twin, numba-serial)
        probe = load.fork_join if "numba-serial" in candidates(kernel) else lambda: None
        before, probes = load.snapshot(), [probe()]
        times = measure_point(kernel, dtype, K, budget, cap, examples)
        others = load.others(before, load.snapshot())
        probes.append(probe())
        loose = unclear(kernel, times)
        slow = max((p / _best_fork_join(p) for p in probes if p is not None), default=1.0)
        seen = {"others": others, "spread": loose, "tries": attempt, "fork_join": slow}
        if (others is None or others <= LOAD_BOUND) and loose <= SPREAD_BOUND \
                and slow <= FORK_JOIN_BOUND:
            return times, seen
        if attempt < TRIES:
            time.sleep(WAIT)
    why = (f"other work took {others:.2f} cores" if others is not None and others > LOAD_BOUND
           else f"numba's thread fork/join ran {slow:.1f}x slower than its best of the run "
                f"(the host, with nothing else running here)" if slow > FORK_JOIN_BOUND
           else f"the fastest backend's lead was inside a {loose:.0%} spread")
    raise MachineBusy(f"machine too busy to measure: at {kernel} {dtype} K = {K} {why} (bounds: "
                      f"{LOAD_BOUND} cores, {SPREAD_BOUND:.0%} spread, {FORK_JOIN_BOUND}x fork/join) "
                      f"in each of {TRIES} tries {WAIT:g} s apart; nothing saved, the previous "
                      f"record is unchanged")


_fork_joins: list[float] = []     # this process's fork/join probes: the best is the norm


def _best_fork_join(latest: float) -> float:
    _fork_joins.append(latest)
    return min(_fork_joins)


def unclear(kernel: str, times: dict[str, list[float]]) -> float:
    """The spread the point's decision rests on, where it is unclear: the fastest
    backend's spread against the ranked one when its lead lies inside that spread (a
    tie, and one that a spread this wide cannot settle); 0 when the lead is beyond its
    spread (a clear pick, whatever the spread) or the ranked backend is fastest."""
    if not times:
        return 0.0
    median = {b: statistics.median(t) for b, t in times.items()}
    best, reference = min(median, key=median.get), ranked(kernel)
    if best == reference or reference not in median:
        return 0.0
    spread = spreads(kernel, times).get(best, 0.0)
    return spread if median[reference] / median[best] <= 1 + spread else 0.0


def candidates(kernel: str) -> list[str]:
    """The backends ``fastest`` may pick: available on the CPU and not plain Python."""
    return [b for b in on_cpu(kernel) if not entry(kernel, b).slow]


def measure_point(kernel: str, dtype: str, K: int, budget: float, cap: float,
                  examples: int | None = None) -> dict[str, list[float]]:
    """Seconds per example of each candidate at minibatch size K, one figure per pass
    (see the module docstring). Each timed call runs as many minibatches of K as last
    about ``budget`` seconds (at most an epoch; at least one; at most ``examples``
    examples); a backend whose single minibatch takes over ``cap`` seconds is left out.
    A kernel called once per pass over a training set (``Spec.one_call``: the SGD
    epoch) is timed on the same ``ONE_CALL_EXAMPLES`` for every backend, so that each
    call's fixed costs (a thread pool's limits, dispatch) weigh as they do in training."""
    works, fns, per_example = {}, {}, {}
    one_call = SPECS[kernel].one_call
    for backend in candidates(kernel):
        fn = get(kernel, backend)
        probe = Workload(kernel, K=K, dtype=dtype, n=K)
        probe.warm_up(fn)                       # compile with the real shapes and dtype
        first = min(time_runs(probe, fn, 1, 3))
        if first > cap:
            continue
        if one_call:
            n = max(K, min(ONE_CALL_EXAMPLES, examples or ONE_CALL_EXAMPLES))
        else:
            calls = max(1, min(round(budget / first), Workload.full_batches(K)))
            n = calls * K if examples is None else max(K, min(calls * K, examples))
        work = Workload(kernel, K=K, dtype=dtype, n=n)
        work.warm_up(fn, work.batches)           # a jax epoch compiles per number of minibatches
        works[backend], fns[backend] = work, fn
        per_example[backend] = min(time_runs(work, fn, work.batches, 1)) / work.n
    fastest, keep = min(per_example.values(), default=0.0), ranked(kernel)
    works = {b: w for b, w in works.items() if b == keep or per_example[b] <= CONTENDER * fastest}
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
    reference = ranked(kernel)
    if not times or reference not in times or len(times[reference]) >= MAX_PASSES:
        return False
    median = {b: statistics.median(t) for b, t in times.items()}
    best = min(median, key=median.get)
    margin = median[reference] / median[best]
    return best != reference and CLOSE < margin <= 1 + spreads(kernel, times)[best]


def settle(work, fn) -> None:
    """Run ``fn`` untimed for ``SETTLE`` seconds (at least once): the threads of the
    backend timed before go idle, this one's are running."""
    import time
    end = time.perf_counter() + SETTLE
    while True:
        work.run(fn)
        if time.perf_counter() > end:
            return


def spreads(kernel: str, times: dict[str, list[float]]) -> dict[str, float]:
    """Per backend b other than the ranked one R: the relative spread ``(max - min) / min``
    of the per-pass ratios ``b[i] / R[i]`` (pass i times both a moment apart); from
    ``TRIM_FROM`` passes on, without the one ratio farthest from their median."""
    reference = ranked(kernel)
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


def winners(measured: dict):
    """Rows ``(kernel, dtype, K, pick, margin, spread, why)``: what ``fastest`` picks from
    this record, the fastest backend's margin over the ranked one and its spread."""
    results, spread = measured["results"], measured["spread"]
    for kernel, by_dtype in results.items():
        for dtype, by_size in by_dtype.items():
            for size, timings in sorted(by_size.items(), key=lambda kv: int(kv[0])):
                point = spread.get(kernel, {}).get(dtype, {}).get(size, {})
                pick, why = choose_from(kernel, timings, point, f"{dtype}, K = {size}")
                best = min(timings, key=timings.get)
                reference = ranked(kernel)
                margin = timings[reference] / timings[best] if reference in timings else None
                yield kernel, dtype, int(size), pick, margin, point.get(best, 0.0), why


LEGEND = ("best: the fastest backend's margin over the shipped ranking's choice; spread: "
          "(max - min) / min of the per-pass ratios of the two; a pick overrides the ranking "
          "only when the margin exceeds 1 + spread, otherwise tie")


def table(measured: dict):
    """A rich Table of the picks, under 80 columns."""
    from rich import box
    from rich.table import Table
    t = Table(title="what kernels.fastest picks per kernel, dtype and minibatch size K",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, justify in (("kernel", "left"), ("dtype", "left"), ("K", "right"), ("pick", "left"),
                         ("best", "right"), ("spread", "right")):
        t.add_column(col, justify=justify)
    for kernel, dtype, size, pick, margin, spread, why in winners(measured):
        t.add_row(kernel, dtype, str(size), pick + (" (tie)" if "tie" in why else ""),
                  "" if margin is None else f"{margin:.2f}x", f"{spread:.1%}")
    return t
