"""A figure that survives a noisy neighbour (the measure of ``python -m kernels
compare``): a kernel's epoch timed against a reference of the same nature in the same
process, rounds interleaved, so that what slows both (another tenant on the shared
cache, memory bus or host) cancels in their ratio.

- FLOP-bound kernels (the MLP): the reference is the epoch's own matrix products
  (``np.dot`` into preallocated arrays, the real minibatches' shapes), what any backend
  calling this BLAS does at least.
- gradient_norm, streaming: the reference copies the same bytes, each input block into
  the output array (``np.copyto``), one read and one write per element, as the kernel
  does: the same access pattern, so a neighbour on the memory bus slows both alike.
- softmax, streaming: its epoch is bound by the exponentials, not by the copy, so a
  neighbour that loads the memory bus slowed the copy and not the kernel (the figure
  wandered 22-173 % with one). The reference is ``np.exp`` of the same elements into
  the same output array: the same bytes and the same exponentials.

The ratio sees a change in the kernel's own code; it does not see a change that slows
the reference just as much (a slower BLAS for the MLP, say), which wall time shows.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from kernels.bench.specs import SPECS
from kernels.bench.workloads import Workload
from kernels.data import N_CLASSES
from kernels.registry import get


def reference(work: Workload):
    """A callable doing the reference work of ``work``'s epoch (see the module docstring)."""
    if SPECS[work.kernel].bound == "flop":
        return _products(work)
    blocks = work.inputs["blocks"]
    out = (
        work.out
        if work.out is not None
        else np.empty((work.n, *blocks[0].shape[1:]), blocks[0].dtype)
    )
    K = len(blocks[0])
    if work.kernel == "softmax":

        def exponentials():
            for i, block in enumerate(blocks):
                np.exp(block, out=out[i * K : i * K + len(block)])

        return exponentials

    def copy():
        for i, block in enumerate(blocks):
            np.copyto(out[i * K : i * K + len(block)], block)

    return copy


def _products(work: Workload):
    # the five products of fprop and bprop at the epoch's shapes, on its real minibatches.
    # (kernels.bench.timing.limits.products_seconds times the same loop; this copy keeps the
    # benchmark independent of the installed version, which asv varies by commit.)
    dtype = np.dtype(work.dtype)
    dh = work.sizes["dh"] if hasattr(work, "sizes") else work.dh  # older: a field
    rng = np.random.default_rng(0)
    xs = [x for x, _ in work.inputs["batches"]]
    d = xs[0].shape[1]
    W1, W2 = (
        rng.standard_normal((dh, d)).astype(dtype),
        rng.standard_normal((N_CLASSES, dh)).astype(dtype),
    )
    K = len(xs[0])
    hs, oa = np.empty((K, dh), dtype), np.empty((K, N_CLASSES), dtype)
    g_oa, g_ha = (
        rng.standard_normal((K, N_CLASSES)).astype(dtype),
        rng.standard_normal((K, dh)).astype(dtype),
    )
    g_hs, dW1, dW2 = np.empty((K, dh), dtype), np.empty_like(W1), np.empty_like(W2)
    full = [x for x in xs if len(x) == K]

    def products():
        for x in full:  # x W1^T, hs W2^T forward; g_oa^T hs, g_oa W2, g_ha^T x backward
            for a, b, out in (
                (x, W1.T, hs),
                (hs, W2.T, oa),
                (g_oa.T, hs, dW2),
                (g_oa, W2, g_hs),
                (g_ha.T, x, dW1),
            ):
                np.dot(a, b, out=out)

    return products


def normalised(
    kernel: str, backend: str, dtype: str = "float64", examples: int = 12_000, rounds: int = 15
) -> dict:
    """``{"ratio": median over rounds of kernel seconds / reference seconds, "ratios",
    "seconds"}`` for ``examples`` training examples in minibatches of 100 (a streaming
    epoch for the kernels that take ``out=``). Compile and warm up first."""
    spec = SPECS[kernel]
    work = Workload(kernel, K=100, dtype=dtype, n=examples, stream=spec.streams)
    fn = get(kernel, backend)
    ref = reference(work)
    work.run(fn)  # compile and fault everything in
    ref()
    ratios, seconds = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        work.run(fn)
        middle = time.perf_counter()
        ref()
        end = time.perf_counter()
        ratios.append((middle - start) / (end - middle))
        seconds.append(middle - start)
    return {"ratio": statistics.median(ratios), "ratios": ratios, "seconds": seconds}


# The default set of `python -m kernels compare`: the compiled and the array backends of
# a memory-bound and a compute-bound kernel, and softmax.
DEFAULT = (
    "gradient_norm numba",
    "gradient_norm numpy",
    "softmax numba",
    "softmax numpy",
    "mlp_epoch numba",
    "mlp_epoch numpy",
)


class Normalised:
    """A kernel's epoch over its same-process reference (see the module docstring):
    lower is better, a change in the kernel's own code moves it, a neighbour does not."""

    params = [list(DEFAULT)]
    param_names = ["benchmark"]
    unit = "x reference"
    rounds = 1
    processes = 1
    timeout = 300

    def setup(self, benchmark):
        """Runs in each benchmark process: pin one thread, check the backend runs here."""
        import kernels

        from .common import pin

        kernel, backend = benchmark.split()
        if backend not in kernels.available(kernel):
            raise NotImplementedError(f"{backend} cannot run here")
        pin(1)

    def track_ratio(self, benchmark):
        kernel, backend = benchmark.split()
        return normalised(kernel, backend)["ratio"]
