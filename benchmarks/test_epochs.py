"""pytest-benchmark: every kernel x backend per Fashion-MNIST epoch (K = 100, one pinned
thread), backends side by side in one group per kernel.

``--benchmark-disable`` (the default here) runs each case once, as a test; see the
README for the timing workflow. The plain-Python references time a fixed slice of the
epoch, so they sit in a group of their own, never ranked against whole epochs;
``extra_info["epoch_factor"]`` turns their time into seconds per epoch.
"""

import functools

import numpy as np
import pytest

import kernels
from kernels.bench.timing.threads import pinned
from kernels.bench.workloads import Workload, outcome
from kernels.registry import entry

# the CPU backends (GPU-only ones are timed on the device by `python -m kernels gpu`)
CASES = [(k, b) for k in kernels.KERNELS for b in kernels.backends(k) if entry(k, b).cpu]


@functools.lru_cache(maxsize=2)
def workload(kernel):
    return Workload(kernel, K=100)


@pytest.mark.parametrize("kernel,backend", CASES)
def test_epoch(benchmark, kernel, backend):
    with pinned(1):
        try:
            fn = kernels.get(kernel, backend)
        except kernels.BackendUnavailable as exc:
            pytest.skip(str(exc))
        work = workload(kernel)
        slow = entry(kernel, backend).slow
        batches = work.slice_for(slow)
        work.warm_up(fn, batches)  # JIT compile outside the measurement
        benchmark.group = f"{kernel} K=100" + (
            f" plain-Python slice of {batches} minibatches" if slow else " whole epoch"
        )
        benchmark.extra_info.update(
            batches=batches, epoch_factor=work.batches / batches, extrapolated=slow, threads=1
        )
        result = benchmark.pedantic(
            work.run, args=(fn, batches), rounds=1 if slow else 3, iterations=1, warmup_rounds=0
        )
        assert all(np.all(np.isfinite(a)) for a in outcome(result))
