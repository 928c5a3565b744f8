"""softmax, ``numba`` backend: one compiled pass per row."""
import numba
import numpy as np

from . import prepare


@numba.njit(cache=True)
def _softmax(a, p):
    n, c = a.shape
    for i in range(n):
        top = a[i, 0]
        for j in range(1, c):
            v = a[i, j]
            if v > top or np.isnan(v):  # NaN must win, as in np.max
                top = v
                if np.isnan(v):
                    break
        total = 0.0
        for j in range(c):
            e = np.exp(a[i, j] - top)
            p[i, j] = e
            total += e
        inv = 1.0 / total
        for j in range(c):
            p[i, j] *= inv


def softmax(z):
    """Row-wise softmax over the last axis.

    z: ``(C,)`` or ``(N, C)``, float32/float64 (integers -> float64).
    Returns probabilities of the same shape and dtype.
    """
    a, single = prepare(z)
    p = np.empty(a.shape, a.dtype)
    _softmax(a, p)
    return p[0] if single else p
