"""softmax, ``numpy`` backend: row-wise array expressions."""

import numpy as np

from . import kernel


@kernel
def softmax(a, p):
    """row-wise NumPy array expressions."""
    with np.errstate(invalid="ignore"):  # NaN/inf rows give NaN, as scipy's does
        np.subtract(a, a.max(axis=1, keepdims=True), out=p)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
