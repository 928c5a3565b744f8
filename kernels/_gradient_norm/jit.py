"""gradient_norm, ``numba`` backend: one compiled pass over the pixels.

Each image row runs a branch-free loop over its interior columns, which LLVM
vectorizes; the two edge columns are done apart. Images are spread over numba's
threads when it has more than one; with one thread a serial variant runs, so the
parallel code (slow to load from the cache) and the thread pool are never started.
"""
import numba
import numpy as np

from . import prepare


@numba.njit(cache=True, inline="always")
def _image(u, g, n, half):
    # half is 0.5 in u's dtype: a float64 literal would turn float32 arithmetic into
    # float64 and back, 25 % slower than float64 itself
    _, h, w = u.shape
    for i in range(h):
        # rows: central difference inside, one-sided at the first and last row
        up, down = min(i + 1, h - 1), max(i - 1, 0)
        rs = half if 0 < i < h - 1 else half + half
        for j in range(1, w - 1):          # vectorized: no branch, contiguous
            d_row = (u[n, up, j] - u[n, down, j]) * rs
            d_col = (u[n, i, j + 1] - u[n, i, j - 1]) * half
            g[n, i, j] = d_row * d_row + d_col * d_col
        for j, left, right in ((0, 0, 1), (w - 1, w - 2, w - 1)):
            d_row = (u[n, up, j] - u[n, down, j]) * rs
            d_col = u[n, i, right] - u[n, i, left]
            g[n, i, j] = d_row * d_row + d_col * d_col


@numba.njit(cache=True)
def _serial(u, g, half):
    for n in range(u.shape[0]):
        _image(u, g, n, half)


@numba.njit(cache=True, parallel=True)
def _parallel(u, g, half):
    for n in numba.prange(u.shape[0]):
        _image(u, g, n, half)


def _threads() -> int:
    # NUMBA_NUM_THREADS=1 (what kernels.threads.pin(1) sets) answers without starting
    # the thread pool; otherwise ask numba for the current setting.
    return 1 if numba.config.NUMBA_NUM_THREADS == 1 else numba.get_num_threads()


def gradient_norm(images):
    """Squared gradient magnitude of each image.

    images: ``(N, H, W)`` or ``(H, W)``, float32/float64 (integers -> float64).
    Returns an array of the same shape and dtype.
    """
    u, single = prepare(images)
    g = np.empty_like(u)
    (_parallel if len(u) > 1 and _threads() > 1 else _serial)(u, g, u.dtype.type(0.5))
    return g[0] if single else g
