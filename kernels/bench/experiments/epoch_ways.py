"""Two ways of the numba epoch that depend on the CPU, measured (``python -m kernels
autotune``) at the benchmark's own shape (K = 100, dh = 50) on this machine:

- **the column tail**: the columns past the last whole vector (50 mod the lanes of a
  vector) through BLAS, or padded to a whole vector. A padded vector costs the FMAs of a
  whole one; BLAS costs per column, at a rate that depends on the CPU and the vector
  width (on the Xeon a quarter of a vector or less went faster through BLAS, half or
  more slower, with 512- and 256-bit vectors).
- **whether x counts as cached**: the backward product reads the minibatch's x again.
  Counted as cached, its tiles read x as it lies (and a tail may go through BLAS);
  counted as not cached, each tile fetches the next one's columns of x ahead and no
  tail goes through BLAS. The default draws the line at half of one core's L2, a rule
  from the Xeon's 2 MiB: with 512 KiB (Zen 2) even K = 100's x is past it.

The epoch's slice is timed three ways (``WAYS``), rounds alternating in one fresh
process (the same code, so the ways see the same machine), float64 and float32.
``decide`` keeps what every round of one way says against every round of the other;
``blocking.tail_most`` and ``blocking.cached_bytes`` hand the record's to the epoch."""

from __future__ import annotations

from ...ops.blocking import quarter
from ..timing.fresh import run_json

ROUNDS = 5  # of each way: all 5 of one way faster than all 5 of another by chance: 1 in 126
MINIBATCHES = 60  # 6,000 examples: about 10-30 ms of epoch per round

_EPOCHS = r"""
import json, sys, time
import numpy as np
from kernels import mlp
from kernels.data import load_fashion_mnist
from kernels.ops import blocking, microkernel as mk
from kernels.ops.mlp import jit_epoch
minibatches, rounds = int(sys.argv[1]), int(sys.argv[2])
out = {}
for dtype in ("float64", "float32"):
    X, y = load_fashion_mnist("train", dtype=dtype)
    X, y = np.ascontiguousarray(X[: 100 * minibatches]), y[: 100 * minibatches]
    width = mk.lanes(dtype)
    # (x counted as cached, the most tail columns through BLAS)
    ways = {"blas": (True, width - 1), "padded": (True, -1), "ahead": (False, -1)}
    out[dtype] = {"width": width, "x_bytes": X[:100].nbytes, "l2_half": blocking.half_l2()}
    out[dtype] |= {way: [] for way in ways}
    for r in range(rounds + 1):  # the first round compiles and warms up
        for way, (cached, most) in ways.items():
            p = mlp.init_params(dh=50, seed=0, dtype=dtype)
            args = jit_epoch._arguments(p, X, y, 100, 0.01, 0.0)[:-2] + (cached, most)
            start = time.perf_counter()
            jit_epoch._epoch_serial(*args, 1)
            if r:
                out[dtype][way].append(time.perf_counter() - start)
print(json.dumps(out))
"""


def measure(env: dict | None = None, rounds: int = ROUNDS) -> dict[str, dict]:
    """``{dtype: {"width": lanes, "x_bytes": a minibatch's x, "l2_half": the default
    line, "blas" | "padded" | "ahead": [s, ...]}}``: seconds of the epoch's slice per
    round each way, in a fresh process (``env``: e.g. the blocks just measured, through
    ``KERNELS_BLOCK``)."""
    return run_json(_EPOCHS, MINIBATCHES, rounds, env=env, what="the epoch's ways")


def faster(a: list[float], b: list[float]) -> bool:
    """Every round of ``a`` faster than every round of ``b`` (the rounds alternate in one
    process, so a slow spell slows both alike; rounds that overlap decide nothing)."""
    return max(a) < min(b)


def decide(seconds: dict[str, dict]) -> tuple[dict[str, int], dict[str, int]]:
    """``(tails, cached)``, per dtype where the rounds decide it: the most tail columns to
    send through BLAS, and the most bytes of a minibatch's x to count as cached.

    Tails: BLAS faster for dh = 50's tail of t columns means faster for any tail up to t
    (fewer columns to compute, more of a vector wasted), so the most is then at least t;
    padding faster means padding for t or more, so the most is below t; beyond that the
    default (a quarter of a vector) stands. Cached: the cached way the epoch would take
    (with the tail just decided) against the prefetching one, at K = 100's bytes b of x;
    cached faster means at least b counts as cached, prefetching faster means less than
    b; beyond that the default (half the L2) stands. A dtype whose vectors dh = 50 fills
    has no tail to decide."""
    tails, cached = {}, {}
    for dtype, timed in seconds.items():
        width, blas, padded = timed["width"], timed["blas"], timed["padded"]
        tail, default = 50 % width, quarter(width)
        if tail and faster(blas, padded):
            tails[dtype] = max(tail, default)
        elif tail and faster(padded, blas):
            tails[dtype] = min(tail - 1, default)
        kept = blas if tail and tail <= tails.get(dtype, default) else padded
        b, half = timed["x_bytes"], timed["l2_half"]
        if faster(kept, timed["ahead"]):
            cached[dtype] = max(b, half)
        elif faster(timed["ahead"], kept):
            cached[dtype] = min(b - 1, half)
    return tails, cached
