"""Finite-difference check of a backend's gradients, built on scipy.optimize.approx_fprime."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .types import Params


def check_gradients(
    p: Params, x, y, fprop: Callable, bprop: Callable, lam: float = 0.0, eps: float = 1e-6
) -> dict[str, float]:
    """Worst relative error of each of dW1, db1, dW2, db2 of ``bprop`` against central
    differences of ``fprop``'s loss (a backend's pair, e.g. ``kernels.get("mlp_fprop",
    "numba")`` and ``kernels.get("mlp_bprop", "numba")``).

    The error of an array is ``max|numeric - analytic| / max(max|numeric|, max|analytic|)``.
    ``p`` must be float64 (float32 cannot resolve a 1e-6 step); it is not changed.
    Keep d and dh small: every parameter costs two forward passes.
    """
    from scipy.optimize import approx_fprime  # scipy.optimize only when checking

    if p.dtype != np.float64:
        raise TypeError(f"gradient checks need float64 parameters; got {p.dtype}")
    analytic = bprop(p, x, y, fprop(p, x, y, lam), lam).arrays()
    errors = {}
    for name, grad in analytic.items():
        probe = p.copy()
        theta = getattr(probe, name[1:])  # dW1 -> W1, modified in place

        def loss(flat, theta=theta, probe=probe):
            theta[...] = flat.reshape(theta.shape)
            return fprop(probe, x, y, lam).loss

        start = theta.ravel().copy()
        # the mean of a forward and a backward difference is the central difference
        numeric = 0.5 * (approx_fprime(start, loss, eps) + approx_fprime(start, loss, -eps))
        scale = max(np.abs(numeric).max(), np.abs(grad).max(), np.finfo(float).tiny)
        errors[name] = float(np.abs(numeric - grad.ravel()).max() / scale)
    return errors
