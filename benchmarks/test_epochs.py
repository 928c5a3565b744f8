"""pytest-benchmark: every kernel x backend x K per epoch on Fashion-MNIST, side by side.

``--benchmark-disable`` (the default here) runs each case once, as a test; see the
README for the timing workflow. Plain-Python backends run a fixed slice of the epoch;
``extra_info["epoch_factor"]`` turns their time into seconds per epoch.
"""
import functools

import numpy as np
import pytest

import kernels
from kernels.registry import entry
from kernels.threads import pin
from kernels.workloads import SLICE, Workload, outcome

CASES = [(k, b) for k in kernels.KERNELS for b in kernels.backends(k)]


@functools.lru_cache(maxsize=4)
def workload(kernel, K):
    return Workload(kernel, K=K)


@pytest.mark.parametrize("K", [1, 100])
@pytest.mark.parametrize("kernel,backend", CASES)
def test_epoch(benchmark, kernel, backend, K):
    pin(1)
    try:
        fn = kernels.get(kernel, backend)
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))
    work = workload(kernel, K)
    work.warm_up(fn)                                    # JIT compile outside the measurement
    slow = entry(kernel, backend).slow
    batches = min(SLICE[kernel], work.batches) if slow else work.batches
    benchmark.group = f"{kernel} K={K}"
    benchmark.extra_info.update(batches=batches, epoch_factor=work.batches / batches,
                                extrapolated=batches < work.batches, threads=1)
    result = benchmark.pedantic(work.run, args=(fn, batches), rounds=1 if slow else 5,
                                iterations=1, warmup_rounds=0)
    assert all(np.all(np.isfinite(a)) for a in outcome(result))
