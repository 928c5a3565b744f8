"""How much of the machine other work took while we measured: the CPU time of every
core (/proc/stat, the hypervisor's steal time included) less this process's own
(all its threads), per second of wall time, in cores. A figure that decides something
(autotune) is not taken while others use a fair share of a core: on a 2-core guest a
neighbour on the other core changes timings by up to 1.7x between processes."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from . import stopwatch

HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# cores' worth of CPU time others may take while a figure is measured: beyond it the
# figure is marked (report, scaling) or measured again (autotune)
BOUND = 0.25


@dataclass(frozen=True)
class Snapshot:
    wall: float  # seconds, monotonic
    busy: float  # CPU seconds of every core, not idle (user, system, irq, steal)
    own: float  # CPU seconds of this process (all threads) and its waited-for children


STAT = "/proc/stat"


def snapshot() -> Snapshot | None:
    """Now; None where /proc/stat cannot be read or does not start with the all-cores
    ``cpu`` line of at least four counters (not Linux, or a file we cannot trust)."""
    try:
        with open(STAT) as f:
            words = f.readline().split()
        fields = [int(v) for v in words[1:9]]
    except (OSError, ValueError):
        return None
    if not words or words[0] != "cpu" or len(fields) < 4:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
    t = os.times()  # its own threads, and the children it waited for (a timed process)
    own = t.user + t.system + t.children_user + t.children_system
    return Snapshot(time.monotonic(), (user + nice + system + irq + softirq + steal) / HZ, own)


def others(before: Snapshot | None, after: Snapshot | None) -> float | None:
    """Cores' worth of CPU time that other processes (and other guests, as steal) took
    between two snapshots; None when unknown."""
    if before is None or after is None or after.wall <= before.wall:
        return None
    if after.busy < before.busy or after.own < before.own:
        return None  # counters went backwards: nothing to trust
    taken = (after.busy - before.busy) - (after.own - before.own)
    return max(taken, 0.0) / (after.wall - before.wall)


def others_now(seconds: float = 0.5) -> float | None:
    """``others`` over the next ``seconds``: a look before measuring anything."""
    before = snapshot()
    time.sleep(seconds)
    return others(before, snapshot())


_fork_join = None  # numba's probe, compiled on first use


def fork_join(calls: int = 2000) -> float | None:
    """Microseconds per fork/join of numba's thread pool, each thread touching its own
    cache line: what a threaded numba kernel pays per parallel region. On a shared
    guest it doubles for tens of seconds at a time (2.2 against 1.0 us on the AMD EPYC
    Zen 4 guest, while numba's threaded epoch took 0.27 s against 0.145 s) with no
    other process running, which ``others`` cannot see. None without numba or with
    one thread."""
    global _fork_join
    try:
        import numba
    except ImportError:
        return None
    if numba.config.NUMBA_NUM_THREADS == 1 or numba.get_num_threads() == 1:
        return None
    if _fork_join is None:
        import numpy as np

        @numba.njit(parallel=True)  # a closure: compiled per process (0.5 s)
        def regions(a, n):
            for _ in range(n):
                for t in numba.prange(2):
                    a[t * 16] += 1.0  # 16 doubles apart: its own cache line
            return a[0]

        _fork_join = (regions, np.zeros(32))
        regions(_fork_join[1], 10)  # compiled before timing
    regions, a = _fork_join
    # the best of three: a single spike is not a spell
    return min(stopwatch.seconds(lambda: regions(a, calls), 3)) / calls * 1e6


class Watch:
    """``with Watch() as seen:`` ... ``seen.others``: the cores' worth of CPU time other
    work took during the block (``others``; None when unknown), and ``seen.busy``:
    whether that passed ``BOUND``."""

    others: float | None = None

    def __enter__(self) -> Watch:
        self._before = snapshot()
        return self

    def __exit__(self, *exc) -> None:
        self.others = others(self._before, snapshot())

    @property
    def busy(self) -> bool:
        return self.others is not None and self.others > BOUND
