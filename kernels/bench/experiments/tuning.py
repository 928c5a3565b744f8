"""``python -m kernels autotune``: which backend ``kernels.fastest`` should hand out on
this machine, measured as a user's process runs it.

Conditions: the process keeps the thread settings it was started with (numba's thread
pool, BLAS threads, affinity), as a default user process has them; nothing is pinned
unless ``--threads`` asks, and those conditions go into the record's fingerprint, so a
process started otherwise ignores the record. numba's split-over-threads and one-thread
variants (``numba`` and ``numba-serial``) are both measured, so the thread count is part
of the choice. Each point (kernel, dtype, minibatch size K) is timed in passes over its
candidates (``passes.py``).

What can be decided is decided; what cannot be is said. Each point is measured with
the CPU time that other work took meanwhile (``load.others``: other processes, other
guests' steal) and, where numba splits the kernel over threads, with numba's fork/join
before and after (``load.fork_join``: a shared host slows it for tens of seconds at a
time with nothing else running). A disturbed point is measured again after ``WAIT``
seconds, up to ``TRIES`` times, while the run's patience lasts (``Effort.patience``:
seconds of measuring again, all points together). Then:

- other work took more than ``load.BOUND`` of a core in every try (or the look before
  each try saw it): nothing here can be measured; the run stops (``MachineBusy``), saves
  nothing and leaves the previous record as it was;
- numba's fork/join ran over ``FORK_JOIN_BOUND`` times its best of the run: only the
  threaded backend's timing is disturbed. The point keeps the other candidates, records
  the threaded one as left out and why, and the record says this machine's thread pool
  is unreliable, so that ``kernels.fastest`` hands out the threaded backend only where it
  was measured fastest, never on the ranking's word alone (``select.pool_reliable``);
- the fastest backend's lead stayed inside a spread wider than ``SPREAD_BOUND``: the
  point is kept as a tie, marked undecided, and the ranking stands there.
The record keeps, per point, the load, the spread, the fork/join ratio, the tries and
what was left out or left undecided.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import time

from ...record import check_writable, save_record
from ...registry import kernel_names
from ..settings import effort
from ..timing import load
from ..timing.progress import bar as progress_bar
from .passes import measure_point, spreads, threaded, unclear

SPREAD_BOUND = 0.25  # no pick rests on a wider spread (a pick's lead exceeds its spread)
TRIES = 3  # measurements of a disturbed point, at most
WAIT = 8.0  # seconds between them (a host's slow spells last 10-30 s)
FORK_JOIN_BOUND = 1.3  # numba's fork/join this many times its best of the run: disturbed
# (best of three probes: quiet 1.0-1.1 us, slow spells 1.5-2.9 us)


class MachineBusy(RuntimeError):
    """Other work took the machine: nothing could be measured."""


class Patience:
    """Seconds a run may spend measuring disturbed points again, all points together."""

    def __init__(self, seconds: float):
        self.left = seconds

    def allows(self, spending: float = 0.0) -> bool:
        """Some is left, beyond the ``spending`` seconds not yet counted."""
        return self.left - spending > 0

    def spend(self, seconds: float) -> None:
        self.left -= seconds


def autotune(
    kernels=None,
    dtypes=("float64", "float32"),
    threads: int | None = None,
    quick: bool = False,
    progress: bool = True,
    save: bool = True,
    sizes: tuple[int, ...] | None = None,
    examples: int | None = None,
) -> dict:
    """Measure and (``save``) record ``{"results": {kernel: {dtype: {K: {backend: s}}}},
    "spread": {...}, "passes": {...}, "noise": {...}, "machine": {"thread_pool": ...}}``:
    seconds per example (median of the passes), each backend's spread against the
    reference, what each point saw, and whether numba's thread pool could be timed.
    ``threads``: pin first (else the process's own settings); ``examples``: at most this
    many examples per timed call sequence (a slice, for tests)."""
    from rich.progress import Progress, TimeRemainingColumn

    every = kernels is None  # the whole run: numba's blocks, epoch and stores measured too
    kernels = kernels or kernel_names()
    if save:
        check_writable()  # before minutes of timing, not after
    if threads is not None:
        from ..timing.threads import pin

        pin(threads)
    how = effort("autotune", quick)
    sizes, patience = sizes or how.sizes, Patience(how.patience)
    examples = examples or how.examples
    # the register blocks first, so that the numba backends timed below compile with them
    chosen, block_seconds = measure_blocks(quick) if every else ({}, {})
    (tails, cached), way_seconds = measure_epoch_ways(chosen) if every else (({}, {}), {})
    stores, store_seconds = measure_stores(quick) if every else (None, {})
    plan = [(k, dt, K) for k in kernels for dt in dtypes for K in sizes]
    measured: dict = {"results": {}, "spread": {}, "passes": {}, "noise": {}}
    columns = (*Progress.get_default_columns(), TimeRemainingColumn(elapsed_when_finished=True))
    with progress_bar(progress, *columns) as bar:
        task = bar.add_task("autotune", total=len(plan))
        for kernel, dtype, K in plan:
            bar.update(task, description=f"{kernel} {dtype} K = {K}")
            times, seen = measure_quietly(kernel, dtype, K, how.budget, how.cap, patience, examples)
            if times:
                for table, value in (
                    ("results", {b: statistics.median(t) for b, t in times.items()}),
                    ("spread", spreads(kernel, times)),
                    ("passes", times),
                    ("noise", seen),
                ):
                    measured[table].setdefault(kernel, {}).setdefault(dtype, {})[str(K)] = value
            bar.advance(task)
    measured["machine"] = thread_pool(measured["noise"])
    measured["blocks"], measured["block_seconds"] = chosen, block_seconds
    measured["stores"], measured["store_seconds"] = stores, store_seconds
    measured["tails"], measured["cached"], measured["way_seconds"] = tails, cached, way_seconds
    if save:
        save_record(
            measured["results"],
            measured["spread"],
            measured["noise"],
            measured["machine"],
            chosen,
            stores,
            tails,
            cached,
        )
    return measured


def measure_blocks(quick: bool) -> tuple[dict, dict]:
    """The microkernel's register block per dtype, measured here (``blocks.py``), and the
    seconds behind it; nothing where numba is missing, a block is forced
    (``KERNELS_BLOCK``) or other work took the machine meanwhile (the CPU table stands).
    This process's numba backends, if not compiled yet, then use the measured blocks."""
    from ...ops import blocking
    from . import blocks

    table = blocking.block(*blocking.target())
    chosen, seconds = _numba_choice(
        "KERNELS_BLOCK",
        lambda: blocks.measure(blocks.candidates(quick)),
        lambda seconds: blocks.fastest(seconds, table),
    )
    if chosen and "kernels.ops.microkernel" not in sys.modules:
        blocking.measured = lambda: chosen
    return chosen or {}, seconds


def measure_epoch_ways(blocks: dict) -> tuple[tuple[dict, dict], dict]:
    """``((tails, cached), seconds)``: per dtype, the most tail columns the numba epoch
    sends through BLAS and the most bytes of x it counts as cached, measured here
    (``epoch_ways.py``) with ``blocks`` (just measured; empty: the table's), and the
    seconds behind them; nothing where numba is missing or other work took the machine
    meanwhile (the defaults stand). The same rounds with ``--quick``: they are short,
    and fewer would decide less."""
    from . import epoch_ways

    forced = ",".join(f"{d}:{'x'.join(map(str, b))}" for d, b in blocks.items())
    env = {"KERNELS_BLOCK": forced} if forced else {}
    ways, seconds = _numba_choice(None, lambda: epoch_ways.measure(env), epoch_ways.decide)
    return ways or ({}, {}), seconds


def measure_stores(quick: bool) -> tuple[str | None, dict]:
    """The store kind numba's streaming kernels write with, measured here
    (``store_kinds.py``), and the seconds behind it; nothing where numba is missing, a
    kind is forced (``KERNELS_STORES``), other work took the machine meanwhile or neither
    kind won clearly (the default stands). ``quick``: 3 rounds of each kind."""
    from . import store_kinds

    rounds = 3 if quick else store_kinds.ROUNDS
    return _numba_choice("KERNELS_STORES", lambda: store_kinds.measure(rounds), store_kinds.fastest)


def _numba_choice(forced: str | None, measure, decide) -> tuple[object, dict]:
    """``(decide(seconds), seconds)`` of a choice of numba's code measured in fresh
    processes (``seconds = measure()``): ``(None, {})`` where numba is missing or the
    environment variable ``forced`` (if any) fixes the choice, and ``(None, seconds)``
    where other work took the machine meanwhile (what stands then is the default)."""
    if importlib.util.find_spec("numba") is None or (forced and os.environ.get(forced)):
        return None, {}
    with load.Watch() as seen:
        seconds = measure()
    return (None if seen.busy else decide(seconds)), seconds


def measure_quietly(
    kernel: str,
    dtype: str,
    K: int,
    budget: float,
    cap: float,
    patience: Patience,
    examples: int | None = None,
) -> tuple[dict[str, list[float]], dict]:
    """``measure_point``, measured again while disturbed (see the module docstring): the
    times and what the point saw, ``{"others": cores others took, "spread": the spread
    the decision rests on, "tries": n, "fork_join": its ratio to the run's best}``, with
    ``"left_out"`` ({backend: why}) and ``"undecided"`` (why) where they apply. Raises
    MachineBusy where other work took the machine in every try."""
    probe = load.fork_join if threaded(kernel) else (lambda: None)
    again = None  # when measuring this point again began

    def waiting() -> float:
        return 0.0 if again is None else time.monotonic() - again

    for attempt in range(1, TRIES + 1):
        now = load.others_now()
        if now is not None and now > load.BOUND:  # busy already: measure nothing yet
            others = now
        else:
            probes = [probe()]
            with load.Watch() as watched:
                times = measure_point(kernel, dtype, K, budget, cap, examples)
            probes.append(probe())
            others = watched.others
            if not watched.busy:
                probes = [p for p in probes if p is not None]
                slow = max(p / _best_fork_join(p) for p in probes) if probes else None
                loose = unclear(kernel, times)
                seen = {"others": others, "spread": loose, "tries": attempt, "fork_join": slow}
                disturbed = (slow or 1.0) > FORK_JOIN_BOUND or loose > SPREAD_BOUND
                if not disturbed or attempt == TRIES or not patience.allows(waiting()):
                    patience.spend(waiting())
                    return settled(kernel, times, seen)
        if attempt < TRIES:
            again = again or time.monotonic()
            time.sleep(WAIT)
    raise MachineBusy(
        f"machine too busy to measure: at {kernel} {dtype} K = {K} other work "
        f"took {others:.2f} cores (bound {load.BOUND}) in each of {TRIES} tries "
        f"{WAIT:g} s apart; nothing saved. Try again later, on a quieter machine, "
        f"or with `--threads 1` if the other work is this program's own threads"
    )


def settled(kernel: str, times: dict[str, list[float]], seen: dict):
    """A point that stays disturbed once patience or tries ran out, kept with what it
    can decide: the threaded backends left out where numba's fork/join ran slow, and the
    point marked undecided where the lead stays inside a spread over the bound."""
    if (seen["fork_join"] or 1.0) > FORK_JOIN_BOUND:
        why = (
            f"numba's thread fork/join ran {seen['fork_join']:.1f}x its best of the run "
            f"(bound {FORK_JOIN_BOUND}x): the thread pool could not be timed here now"
        )
        seen["left_out"] = {b: why for b in threaded(kernel) if b in times}
        times = {b: t for b, t in times.items() if b not in seen["left_out"]}
        seen["spread"] = unclear(kernel, times)
    if seen["spread"] > SPREAD_BOUND:
        seen["undecided"] = (
            f"the fastest backend's lead stayed inside a {seen['spread']:.0%} "
            f"spread (bound {SPREAD_BOUND:.0%}): a tie, the ranking stands"
        )
    return times, seen


_fork_joins: list[float] = []  # this process's fork/join probes: the best is the norm


def _best_fork_join(latest: float) -> float:
    _fork_joins.append(latest)
    return min(_fork_joins)


def thread_pool(noise: dict) -> dict:
    """The machine's fact for the record: ``{"thread_pool": "reliable" | "unreliable" |
    "not measured", "why": ...}`` from the points' fork/join probes."""
    seen = [
        p for by_dtype in noise.values() for by_size in by_dtype.values() for p in by_size.values()
    ]
    probed = [p for p in seen if p.get("fork_join") is not None]
    left = [p for p in seen if p.get("left_out")]
    if left:
        worst = max(p["fork_join"] for p in left)
        return {
            "thread_pool": "unreliable",
            "why": f"numba's fork/join ran up to {worst:.1f}x its best at {len(left)} of "
            f"{len(seen)} points: the threaded backends were left out there",
        }
    return {"thread_pool": "reliable" if probed else "not measured"}
