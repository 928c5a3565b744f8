"""gradient_norm, ``numpy`` backend: whole-array slicing, no Python loop."""
import numpy as np

from . import prepare


def gradient_norm(images):
    """Squared gradient magnitude of each image.

    images: ``(N, H, W)`` or ``(H, W)``, float32/float64 (integers -> float64).
    Returns an array of the same shape and dtype.
    """
    u, single = prepare(images)
    d_row, d_col = np.gradient(u, axis=(1, 2))
    g = np.square(d_row, out=d_row)
    g += np.square(d_col, out=d_col)
    return g[0] if single else g
