"""Every available CPU backend of every kernel on the same real Fashion-MNIST minibatches,
compared with the plain-Python reference at the tolerances of docs/design.md, section 5."""

from __future__ import annotations

import numpy as np

from ...ops import tolerance
from ...registry import get, kernel_names, on_cpu, role_of
from ..specs import SPECS
from ..workloads import Workload, outcome


def excess(arrays, reference, rtol: float, atol: float) -> float:
    """The worst ``|a - r| / (atol + rtol |r|)`` over all entries: <= 1 is within tolerance
    (``numpy.testing.assert_allclose``'s criterion); NaN where only one side is NaN is inf."""
    worst = 0.0
    for a, r in zip(arrays, reference):
        a, r = np.asarray(a, np.float64), np.asarray(r, np.float64)
        both_nan = np.isnan(a) & np.isnan(r)
        with np.errstate(invalid="ignore"):
            ratio = np.abs(a - r) / (atol + rtol * np.abs(r))
        ratio = np.where(both_nan, 0.0, np.where(np.isnan(ratio), np.inf, ratio))
        worst = max(worst, float(np.max(ratio, initial=0.0)))
    return worst


def max_difference(arrays, reference) -> float:
    """The largest ``|a - r|`` over all entries of paired results, in float64."""
    return max(
        float(np.max(np.abs(np.subtract(a, r, dtype=np.float64)), initial=0))
        for a, r in zip(arrays, reference)
    )


# the plain-Python MLP takes about 3 ms per example (AMD EPYC Zen 4): 2,000 examples of
# each kernel are about half a minute; the equality tests cover the rest
MAX_EXAMPLES = 2_000


def check_examples(n) -> int:
    """``n`` if it is a count agree runs in reasonable time, else ValueError saying why."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_EXAMPLES:
        raise ValueError(
            f"-n {n}: agree compares on 1 to {MAX_EXAMPLES:,} training examples "
            f"(the plain-Python reference runs each; the training set has 60,000)"
        )
    return n


def agreement(n: int = 250, dh: int = 10, dtype: str = "float64"):
    """Yield ``(kernel, backend, max |difference| from the reference, within tolerance)``
    on the first ``n`` training examples (minibatches of 100, so a short last one when n
    % 100), the reference being the kernel's backend of that role (python; a kernel
    registered without one: its first backend); ValueError beyond ``MAX_EXAMPLES``."""
    check_examples(n)
    for kernel in kernel_names():
        work = Workload(kernel, dtype=dtype, n=n, sizes=SPECS[kernel].pick({"dh": dh}))
        results = {b: outcome(work.run(get(kernel, b))) for b in on_cpu(kernel)}
        reference = results.get(role_of(kernel, "reference")) or next(iter(results.values()))
        for backend, arrays in results.items():
            yield (
                kernel,
                backend,
                max_difference(arrays, reference),
                excess(arrays, reference, **tolerance(kernel, dtype)) <= 1,
            )
