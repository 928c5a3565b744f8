"""The machine's rates for the physical limits (docs/design.md, section 7): peak FLOP/s
(the higher of a large matrix product and a register-resident FMA loop), copy
bandwidth, and the exponential's throughput. Measure
them in the same process, with the same threads, as the timings they are compared
with; the work models (FLOP, bytes) are in each kernel's spec (workloads.SPECS)."""

from __future__ import annotations

import statistics

import numpy as np

from ..settings import DH, K, effort
from .stopwatch import seconds


def _median_seconds(fn, rounds: int) -> float:
    fn()  # first touch: page faults, BLAS buffers
    return statistics.median(seconds(fn, rounds))


def peak_flops(dtype="float64", n: int = 2048, rounds: int = 5) -> float:
    """FLOP/s of ``np.dot`` on two n x n matrices (2 n^3 FLOP) in the current thread setting."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    return 2.0 * n**3 / _median_seconds(lambda: np.dot(a, b, out=out), rounds)


def fma_flops(dtype="float64", steps: int = 1_000_000, rounds: int = 5) -> float:
    """FLOP/s of register-resident FMA chains (fused multiply-adds, no memory traffic),
    the best over the vector widths and chain counts of ``fma_loop.SHAPES``: the
    machine's FMA rate, which a small-GEMM microkernel can approach where a library's
    large GEMM stops below it. 0.0 where numba is not installed."""
    try:
        from . import fma_loop
    except ImportError:
        return 0.0
    x = np.dtype(dtype).type(0.999)  # the chains converge: no overflow, no subnormals
    best = 0.0
    for bits, chains in fma_loop.SHAPES:
        run = fma_loop.fma_loop(bits, chains)
        run(x, 10)  # compiled before timing
        seconds_ = _median_seconds(lambda run=run: run(x, steps), rounds)
        best = max(best, fma_loop.fma_flop(dtype, bits, chains, steps) / seconds_)
    return best


def copy_bandwidth(nbytes: int = 512 * 2**20, rounds: int = 5, threads: int = 1) -> float:
    """Bytes/s of a large ``np.copyto`` counted as bytes read + bytes written: the
    bandwidth limit (docs/design.md sec. 7). memcpy writes a copy this large with
    non-temporal stores, so memory sees two streams (read, write).

    With ``threads`` > 1 the copy is split into that many slices copied at once
    (``np.copyto`` releases the GIL), since one core alone cannot saturate the memory bus.
    """
    return _stream_rate(np.copyto, nbytes, rounds, threads)


def store_bandwidth(nbytes: int = 512 * 2**20, rounds: int = 5, threads: int = 1) -> float:
    """Bytes/s, counted as copy_bandwidth counts them, of ``np.multiply(src, 1.0, out=dst)``:
    the same stream written with ordinary stores, as a compiled loop writes its output.
    Each line written is first read into the cache (write-allocate), a third stream the
    copy's non-temporal stores avoid: the ceiling of a kernel that reads its input once
    and writes its output with ordinary stores (context for gradient_norm; not the limit)."""
    return _stream_rate(lambda dst, src: np.multiply(src, 1.0, out=dst), nbytes, rounds, threads)


def _stream_rate(op, nbytes: int, rounds: int, threads: int) -> float:
    """(bytes read + bytes written) / s of ``op(dst, src)`` over ``nbytes`` of float64."""
    src = np.ones(nbytes // 8)
    dst = np.zeros_like(src)  # written once: its pages are faulted in before timing
    if threads == 1:
        return 2.0 * src.nbytes / _median_seconds(lambda: op(dst, src), rounds)
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, len(src), threads + 1).astype(int)
    pieces = [(dst[a:b], src[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    with ThreadPoolExecutor(threads) as pool:

        def run():
            list(pool.map(lambda piece: op(*piece), pieces))

        return 2.0 * src.nbytes / _median_seconds(run, rounds)


def exp_rate(dtype="float64", n: int = 4 * 2**20, rounds: int = 5) -> float:
    """Elements/s of ``np.exp`` in place (context for softmax; not a limit)."""
    a = np.random.default_rng(0).uniform(-5, 0, n).astype(dtype)
    out = np.empty_like(a)
    return n / _median_seconds(lambda: np.exp(a, out=out), rounds)


def machine_rates(dtype="float64", quick: bool = False, threads: int = 1) -> dict[str, float]:
    """The machine's rates on ``threads`` threads (BLAS must already be pinned to as many).
    peak_flops, the FLOP limit's rate, is the higher of gemm_flops (np.dot 2048^2) and
    fma_flops (the FMA loop, on one thread: with more, gemm_flops sets the limit)."""
    rounds = effort("limits", quick).rounds
    gemm, fma = peak_flops(dtype, rounds=rounds), fma_flops(dtype, rounds=rounds)
    return {
        "peak_flops": max(gemm, fma),
        "gemm_flops": gemm,
        "fma_flops": fma,
        "copy_bandwidth": copy_bandwidth(rounds=rounds, threads=threads),
        "store_bandwidth": store_bandwidth(rounds=rounds, threads=threads),
        "exp_rate": exp_rate(dtype, rounds=rounds),
    }


def products_seconds(dtype="float64", dh: int = DH, K: int = K, rounds: int = 5) -> float:
    """Seconds of the five matrix products of one MLP epoch alone, as ``np.dot`` calls
    into preallocated outputs on the real minibatches: x W1^T, hs W2^T (forward),
    g_oa^T hs, g_oa W2, g_ha^T x (backward). What the BLAS reaches at the epoch's own
    shapes: no backend that calls this BLAS for its products can beat it, so it is the
    attainable bound beside the FLOP limit (which uses a large square product)."""
    from ...data import N_CLASSES, load_fashion_mnist

    X = load_fashion_mnist("train", dtype=dtype)[0]
    rng = np.random.default_rng(0)
    W1, W2 = (
        rng.standard_normal((dh, X.shape[1])).astype(dtype),
        rng.standard_normal((N_CLASSES, dh)).astype(dtype),
    )
    hs, g_oa = np.empty((K, dh), dtype), rng.standard_normal((K, N_CLASSES)).astype(dtype)
    g_ha, oa = rng.standard_normal((K, dh)).astype(dtype), np.empty((K, N_CLASSES), dtype)
    dW1, dW2, g_hs = np.empty_like(W1), np.empty_like(W2), np.empty((K, dh), dtype)
    blocks = [X[i : i + K] for i in range(0, len(X) - K + 1, K)]

    def epoch():
        for x in blocks:
            np.dot(x, W1.T, out=hs)
            np.dot(hs, W2.T, out=oa)
            np.dot(g_oa.T, hs, out=dW2)
            np.dot(g_oa, W2, out=g_hs)
            np.dot(g_ha.T, x, out=dW1)

    return _median_seconds(epoch, rounds)
