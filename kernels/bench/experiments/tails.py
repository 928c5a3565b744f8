"""How many columns past the whole vectors the numba epoch should send through BLAS on
this machine rather than pad to a whole vector, measured (``python -m kernels
autotune``).

A padded vector costs the FMAs of a whole one; BLAS's product with W1's last rows costs
per column, at a rate that depends on the CPU and on the vector width (on the Xeon a
quarter of a vector or less went faster through BLAS, half or more slower, with 512-
and 256-bit vectors). So the epoch is timed here, numba-serial, at dh = 50 (the tail
the benchmark meets: 50 mod the lanes of a vector), both ways, rounds alternating in
one fresh process (the same code, so the two ways see the same machine), K = 100,
float64 and float32. ``decide`` turns the rounds into the most tail columns per dtype
that go through BLAS; ``blocking.tail_most`` hands the record's to the epoch."""

from __future__ import annotations

from ..timing.fresh import run_json

ROUNDS = 5  # of each way: all 5 of one way faster than all 5 of the other by chance: 1 in 126
MINIBATCHES = 60  # 6,000 examples: about 10-30 ms of epoch per round

_EPOCHS = r"""
import json, sys, time
import numpy as np
from kernels import mlp
from kernels.data import load_fashion_mnist
from kernels.ops import microkernel as mk
from kernels.ops.mlp import jit_epoch
minibatches, rounds = int(sys.argv[1]), int(sys.argv[2])
out = {}
for dtype in ("float64", "float32"):
    X, y = load_fashion_mnist("train", dtype=dtype)
    X, y = np.ascontiguousarray(X[: 100 * minibatches]), y[: 100 * minibatches]
    width = mk.lanes(dtype)
    ways = {"blas": width - 1, "padded": -1}  # the most columns through BLAS: all, none
    out[dtype] = {"width": width, **{way: [] for way in ways}}
    for r in range(rounds + 1):  # the first round compiles and warms up
        for way, most in ways.items():
            p = mlp.init_params(dh=50, seed=0, dtype=dtype)
            args = jit_epoch._arguments(p, X, y, 100, 0.01, 0.0)[:-1] + (most,)
            start = time.perf_counter()
            jit_epoch._epoch_serial(*args, 1)
            if r:
                out[dtype][way].append(time.perf_counter() - start)
print(json.dumps(out))
"""


def measure(env: dict | None = None, rounds: int = ROUNDS) -> dict[str, dict]:
    """``{dtype: {"width": lanes, "blas": [s, ...], "padded": [s, ...]}}``: seconds of the
    epoch's slice per round with dh = 50's tail through BLAS and padded, in a fresh
    process (``env``: e.g. the blocks just measured, through ``KERNELS_BLOCK``)."""
    return run_json(_EPOCHS, MINIBATCHES, rounds, env=env, what="column tails")


def decide(seconds: dict[str, dict]) -> dict[str, int]:
    """The most tail columns per dtype to send through BLAS, where the rounds decide it:
    every round of one way faster than every round of the other (the rounds alternate
    in one process, so a slow spell slows both ways alike; a lead that the rounds
    overlap on decides nothing). BLAS faster for dh = 50's tail of t columns means
    faster for any tail up to t (fewer columns to compute, more of a vector wasted), so
    the most is then at least t; padding faster means padding for t or more, so the
    most is below t. Beyond what was measured, the default (a quarter of a vector)
    stands. A dtype the rounds do not decide, or whose vectors dh = 50 fills (no tail),
    is left out."""
    chosen = {}
    for dtype, timed in seconds.items():
        width, blas, padded = timed["width"], timed["blas"], timed["padded"]
        tail, default = 50 % width, width // 4
        if tail and max(blas) < min(padded):
            chosen[dtype] = max(tail, default)
        elif tail and max(padded) < min(blas):
            chosen[dtype] = min(tail - 1, default)
    return chosen
