"""softmax, ``numba-cuda`` backend: the numba loops compiled for the GPU, one device
thread per row (a row of 10 logits is too short to share among threads)."""

import math

from numba import cuda

from ..cuda_support import THREADS, blocks
from . import kernel


@cuda.jit(cache=True)
def _softmax(a, p):
    i = cuda.grid(1)
    n, c = a.shape
    if i >= n:
        return
    top, bad = a[i, 0], False
    for j in range(c):
        bad |= a[i, j] != a[i, j]  # NaN
        top = max(top, a[i, j])
    if bad or math.isinf(top):  # NaN, +inf or an all -inf row: NaN, as scipy
        for j in range(c):
            p[i, j] = math.nan
        return
    total = top - top  # zero in a's dtype (top is finite here)
    for j in range(c):
        p[i, j] = math.exp(a[i, j] - top)
        total += p[i, j]
    for j in range(c):
        p[i, j] /= total


@kernel.device
def softmax(a, p):
    """one device thread per row."""
    _softmax[blocks(a.shape[0]), THREADS](a, p)
