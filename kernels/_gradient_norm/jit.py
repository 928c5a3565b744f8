"""gradient_norm, ``numba`` backend: one compiled pass over the pixels."""
import numba
import numpy as np

from . import prepare


@numba.njit(cache=True, parallel=True, fastmath=False)
def _gradient_norm(u, g):
    n_img, h, w = u.shape
    for n in numba.prange(n_img):
        for i in range(h):
            # row neighbours and scale: one-sided at the edges, central inside
            up = min(i + 1, h - 1)
            down = max(i - 1, 0)
            rs = 0.5 if 0 < i < h - 1 else 1.0
            for j in range(w):
                right = min(j + 1, w - 1)
                left = max(j - 1, 0)
                cs = 0.5 if 0 < j < w - 1 else 1.0
                d_row = (u[n, up, j] - u[n, down, j]) * rs
                d_col = (u[n, i, right] - u[n, i, left]) * cs
                g[n, i, j] = d_row * d_row + d_col * d_col


def gradient_norm(images):
    """Squared gradient magnitude of each image.

    images: ``(N, H, W)`` or ``(H, W)``, float32/float64 (integers -> float64).
    Returns an array of the same shape and dtype.
    """
    u, single = prepare(images)
    g = np.empty_like(u)
    _gradient_norm(u, g)
    return g[0] if single else g
