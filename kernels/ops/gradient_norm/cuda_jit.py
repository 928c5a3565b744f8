"""gradient_norm, ``numba-cuda`` backend: the numba loop body compiled for the GPU, one
device thread per pixel (consecutive threads take consecutive pixels of a row, so a
warp's reads and writes are contiguous)."""

from numba import cuda

from ..cuda_support import THREADS, blocks
from . import kernel


@cuda.jit(cache=True)
def _gradient_norm(u, g, half):
    # half is 0.5 in u's dtype, so float32 stays float32 (as in the numba backend)
    n_images, h, w = u.shape
    k = cuda.grid(1)
    if k >= n_images * h * w:
        return
    n, i, j = k // (h * w), (k // w) % h, k % w
    up, down = min(i + 1, h - 1), max(i - 1, 0)
    left, right = max(j - 1, 0), min(j + 1, w - 1)
    # central differences inside (half the step), one-sided at the edges (the full step)
    rs = half if 0 < i < h - 1 else half + half
    cs = half if 0 < j < w - 1 else half + half
    d_row = (u[n, up, j] - u[n, down, j]) * rs
    d_col = (u[n, i, right] - u[n, i, left]) * cs
    g[n, i, j] = d_row * d_row + d_col * d_col


@kernel.device
def gradient_norm(u, g):
    """one device thread per pixel."""
    _gradient_norm[blocks(u.size), THREADS](u, g, u.dtype.type(0.5))
