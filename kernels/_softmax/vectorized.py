"""softmax, ``numpy`` backend: row-wise array expressions."""
import numpy as np

from . import prepare


def softmax(z):
    """Row-wise softmax over the last axis.

    z: ``(C,)`` or ``(N, C)``, float32/float64 (integers -> float64).
    Returns probabilities of the same shape and dtype.
    """
    a, single = prepare(z)
    with np.errstate(invalid="ignore"):  # NaN/inf rows give NaN, as scipy's does
        p = a - a.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    return p[0] if single else p
