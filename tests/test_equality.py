"""Every pair of registered backends of every kernel computes the same thing on real
Fashion-MNIST: the first two minibatches of the kernel's epoch (its Spec's inputs, the
MLP at dh = 10), compared at the tolerances of docs/design.md, section 5. The kernels
and backends come from the registry, the inputs from the Specs: a new backend or kernel
is compared here with no edit. The per-kernel files test the edge cases."""

import functools
import itertools

import numpy as np
import pytest
from conftest import runnable

import kernels
from kernels.bench.specs import SPECS
from kernels.bench.workloads import Workload, outcome

PAIRS = [
    (k, a, b) for k in kernels.KERNELS for a, b in itertools.combinations(kernels.backends(k), 2)
]


@functools.cache
def result(kernel: str, backend: str, dtype: str) -> list[np.ndarray]:
    work = Workload(kernel, dtype=dtype, n=200, sizes=SPECS[kernel].pick({"dh": 10}))
    return outcome(work.run(kernels.get(kernel, backend)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel,first,second", PAIRS)
def test_backends_agree_on_the_epochs_first_minibatches(kernel, first, second, dtype):
    runnable(kernel, first), runnable(kernel, second)
    a, b = result(kernel, first, dtype), result(kernel, second, dtype)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(x, y, **kernels.tolerance(kernel, dtype))
