"""gradient_norm, ``numba`` backend: one compiled pass over the pixels.

Each image row runs a branch-free loop over its interior columns, which LLVM
vectorizes; the two edge columns are done apart. Images are spread over numba's
threads when it has more than one; with one thread a serial variant runs, so the
parallel code (slow to load from the cache) and the thread pool are never started.
"""

import numba

from ..numba_support import threads
from . import kernel


@numba.njit(cache=True, inline="always")
def _image(u, g, n, half):
    # half is 0.5 in u's dtype: a float64 literal would turn float32 arithmetic into
    # float64 and back, 25 % slower than float64 itself
    _, h, w = u.shape
    for i in range(h):
        # rows: central difference inside, one-sided at the first and last row
        up, down = min(i + 1, h - 1), max(i - 1, 0)
        rs = half if 0 < i < h - 1 else half + half
        for j in range(1, w - 1):  # vectorized: no branch, contiguous
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


@kernel
def gradient_norm(u, g):
    """one compiled pass: each pixel read once and written once (images over numba's
    threads when it has more than one)."""
    (_parallel if len(u) > 1 and threads() > 1 else _serial)(u, g, u.dtype.type(0.5))


@kernel
def gradient_norm_serial(u, g):
    """one compiled pass on the calling thread, whatever numba's thread count."""
    _serial(u, g, u.dtype.type(0.5))
