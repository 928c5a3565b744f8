"""Which register block the numba microkernel should use on this machine, measured
(``python -m kernels autotune``), as ATLAS tunes its blocking at install time.

Each candidate block (``candidates``: the CPU table's and its neighbours that fit the
register file) is compiled in a fresh process (``KERNELS_BLOCK``, a numba cache of its
own) and times the epoch's two large products on real minibatches, as the epoch runs
them: forward ``ha = x W1^T`` (rows of x streaming) and backward ``W1^T -= lr x^T g_ha``,
K = 100, dh = 50, float64 and float32, best of ``ROUNDS``, on the columns the epoch
gives the microkernel (``jit_layout.columns``: with 512-bit vectors float32's first 48
of 50, not 64 padded). The fastest block per dtype goes into the autotune record; the
numba backends then compile with it (``record.recorded_blocks``); numba's cache never
hands out code of another block (ops/numba_cache.py keys it on the block)."""

from __future__ import annotations

import tempfile

from ...ops import blocking
from ..timing.fresh import run_json

ROUNDS = 5
# a block replaces the table's only with a lead beyond this and the spread of their rounds:
# blocks are timed in separate processes, a few per cent apart on a quiet machine
MIN_LEAD = 1.05
MINIBATCHES = 60  # 6,000 examples: about 50 ms of products per round at 100 GFLOP/s

_PRODUCTS = r"""
import json, sys, time
import numpy as np
from kernels.ops import blocking, microkernel as mk
from kernels.ops.mlp.jit_layout import columns
from kernels.data import load_fashion_mnist
minibatches, rounds = int(sys.argv[1]), int(sys.argv[2])
out = {}
for dtype in ("float64", "float32"):
    X = np.ascontiguousarray(load_fashion_mnist("train", dtype=dtype)[0][: 100 * minibatches])
    # the epoch's shapes, buffers and backward product: dm columns through the
    # microkernel (a tail of a few through BLAS, which no block changes), buffers on
    # cache lines, x read ahead where the epoch would not count it as cached
    w = mk.lanes(dtype)
    cached = X[:100].nbytes <= blocking.cached_bytes(dtype)
    dm, dhp = columns(50, w, cached, blocking.tail_most(dtype, w))
    backward = mk._gemm if cached else mk._gemm_ahead
    like, rng = np.zeros(1, dtype), np.random.default_rng(0)
    W1T = mk.zeros_lined(X.shape[1], dm, like)
    W1T[:, : min(dm, 50)] = rng.uniform(-0.03, 0.03, (X.shape[1], min(dm, 50)))
    ha, g = mk.zeros_lined(100, dhp, like), mk.zeros_lined(100, dhp, like)
    g[:, :50] = rng.standard_normal((100, 50)) * 1e-3
    one, zero, lr = (np.dtype(dtype).type(v) for v in (1, 0, -1e-3))

    def products():
        for s in range(0, len(X), 100):
            mk._gemm_rows(X[s : s + 100], W1T, ha[:, :dm], one, zero)
            backward(X[s : s + 100].T, g[:, :dm], W1T, lr, one)

    products()  # compiled and warm
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        products()
        times.append(time.perf_counter() - start)
    out[dtype] = times
print(json.dumps(out))
"""


def candidates(quick: bool = False) -> list[blocking.Block]:
    """The CPU table's blocks and their neighbours that fit this CPU's register file
    (32 vector registers with AVX-512 or on aarch64, else 16), at its widest vectors
    and the next narrower; ``quick``: the table's first two."""
    arch, cpu, features = blocking.target()
    table = blocking.block(arch, cpu, features)
    registers = 32 if "avx512f" in features or arch in ("aarch64", "arm64") else 16
    widest = max(bits for _, _, bits in table.values())
    shapes = [(8, 3), (6, 4), (4, 6), (12, 2), (4, 3), (5, 2), (6, 2), (3, 4), (4, 2), (2, 6)]
    found = list(dict.fromkeys(table.values()))
    for bits in (widest, widest // 2):
        for mr, nv in shapes:
            if mr * nv + nv + 1 <= registers and bits >= 128 and (mr, nv, bits) not in found:
                found.append((mr, nv, bits))
    return found[:2] if quick else found


def measure(blocks: list[blocking.Block], rounds: int = ROUNDS) -> dict[str, dict[str, list]]:
    """``{block "MRxNVxBITS": {dtype: seconds of the products, per round}}``, each block in
    a fresh process with its own numba cache (the user's stays as it was)."""
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="kernels-blocks-") as cache:
        for block in blocks:
            name = "x".join(map(str, block))
            env = {"KERNELS_BLOCK": name, "NUMBA_CACHE_DIR": f"{cache}/{name}"}
            seconds[name] = run_json(_PRODUCTS, MINIBATCHES, rounds, env=env, what=f"block {name}")
    return seconds


def fastest(seconds: dict[str, dict[str, list]], table: dict) -> dict[str, list[int]]:
    """The block per dtype, as the record keeps it (``{dtype: [MR, NV, BITS]}``): the
    fastest one where it beats the CPU table's ``table[dtype]`` by more than the spread
    ((max - min) / min) of either one's rounds and ``MIN_LEAD``, else the table's: a lead
    the noise could explain decides nothing."""
    chosen = {}
    for dtype, block in table.items():
        times = {b: seconds[b][dtype] for b in seconds}
        ref, best = "x".join(map(str, block)), min(times, key=lambda b: min(times[b]))
        wins = ref not in times or beats(times[best], times[ref])
        chosen[dtype] = [int(v) for v in (best if wins else ref).split("x")]
    return chosen


def beats(fast: list[float], ref: list[float]) -> bool:
    """Rounds ``fast`` lead rounds ``ref`` (each a measured variant's, in its own process)
    by more than ``MIN_LEAD`` and the spread of either: a lead the noise cannot explain."""
    return min(ref) > min(fast) * MIN_LEAD * (1 + max(spread(fast), spread(ref)))


def spread(times: list[float]) -> float:
    """(max - min) / min of a block's rounds."""
    return (max(times) - min(times)) / min(times)
