"""Every available backend of every kernel on the same real Fashion-MNIST minibatches,
compared with the plain-Python reference."""
from __future__ import annotations

import numpy as np

from .registry import KERNELS, available, get
from .workloads import Workload, outcome


def agreement(n: int = 250, dh: int = 10, dtype: str = "float64"):
    """Yield ``(kernel, backend, worst |difference| from the python backend)`` on the first
    ``n`` training examples (minibatches of 100, so a short last one when n % 100)."""
    for kernel in KERNELS:
        work = Workload(kernel, dtype=dtype, dh=dh, n=n)
        results = {b: outcome(work.run(get(kernel, b))) for b in available(kernel)}
        reference = results["python"]
        for backend, arrays in results.items():
            yield kernel, backend, max(float(np.max(np.abs(a - r), initial=0))
                                       for a, r in zip(arrays, reference))
