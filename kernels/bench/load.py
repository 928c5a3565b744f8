"""How much of the machine other work took while we measured: the CPU time of every
core (/proc/stat, the hypervisor's steal time included) less this process's own
(all its threads), per second of wall time, in cores. A figure that decides something
(autotune) is not taken while others use a fair share of a core: on a 2-core guest a
neighbour on the other core changes timings by up to 1.7x between processes."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Snapshot:
    wall: float        # seconds, monotonic
    busy: float        # CPU seconds of every core, not idle (user, system, irq, steal)
    own: float         # CPU seconds of this process, all threads


def snapshot() -> Snapshot | None:
    """Now; None where /proc/stat cannot be read (not Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields + [0] * (8 - len(fields))
    t = os.times()
    return Snapshot(time.monotonic(), (user + nice + system + irq + softirq + steal) / HZ,
                    t.user + t.system)


def others(before: Snapshot | None, after: Snapshot | None) -> float | None:
    """Cores' worth of CPU time that other processes (and other guests, as steal) took
    between two snapshots; None when unknown."""
    if before is None or after is None or after.wall <= before.wall:
        return None
    taken = (after.busy - before.busy) - (after.own - before.own)
    return max(taken, 0.0) / (after.wall - before.wall)
