"""gradient_norm, ``numpy`` backend: numpy.gradient along both axes, then squares."""

import numpy as np

from . import kernel


@kernel
def gradient_norm(u, g):
    """whole-array NumPy calls, no Python loop over pixels."""
    d_row, d_col = np.gradient(u, axis=(1, 2))
    np.square(d_row, out=g)
    g += np.square(d_col, out=d_col)
