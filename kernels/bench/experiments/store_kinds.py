"""Which stores numba's streaming kernels should write with on this machine, measured
(``python -m kernels autotune``): the streaming gradient_norm epoch (numba-serial, every
output written into one preallocated array through out=, larger than the caches), with
ordinary stores and with non-temporal ones, each kind in a fresh process
(``KERNELS_STORES``), float64 and float32, best of ``blocks.ROUNDS``. Non-temporal
stores (the default) or ordinary ones go into the autotune record where they beat the
other kind in both dtypes beyond the noise (``blocks.beats``), nothing otherwise;
``ops/store_kind.py`` hands the record's kind to the kernels."""

from __future__ import annotations

from ...ops.store_kind import KINDS
from ..timing.fresh import run_json
from .blocks import ROUNDS, beats

_STREAM = r"""
import json, sys, time
import kernels
from kernels.bench.workloads import Workload
rounds = int(sys.argv[1])
fn = kernels.get("gradient_norm", "numba-serial")
out = {}
for dtype in ("float64", "float32"):
    work = Workload("gradient_norm", dtype=dtype, stream=True)
    work.warm_up(fn, work.batches)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work.run(fn)
        times.append(time.perf_counter() - start)
    out[dtype] = times
print(json.dumps(out))
"""


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, list]]:
    """``{kind: {dtype: seconds of the streaming epoch, per round}}``, each kind in a
    fresh process."""
    return {
        kind: run_json(_STREAM, rounds, env={"KERNELS_STORES": kind}, what=f"{kind} stores")
        for kind in KINDS
    }


def fastest(seconds: dict[str, dict[str, list]]) -> str | None:
    """The kind whose rounds beat the other's in every dtype (``blocks.beats``), or None
    where neither does (the default stands)."""
    for kind, other in (KINDS, KINDS[::-1]):
        if all(beats(seconds[kind][dtype], seconds[other][dtype]) for dtype in seconds[other]):
            return kind
    return None
