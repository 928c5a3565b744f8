"""softmax, ``numba`` backend: compiled loops with an exponential in explicit vectors
(``vector_exp``, the register block's width). LLVM may fuse multiply-adds (FMA), and bad
rows are marked in the output itself rather than in a separate array: both remove work
from the per-row path, which dominates a small block.
"""

import numba
import numpy as np

from .. import microkernel, numba_cache, numba_support, tile, vector_exp
from ..vector_exp import exp_nonpositive_all
from . import kernel

# the exponential's vectors are the block's width: code compiled for one block is kept apart
numba_cache.track(__file__, numba_support, tile, vector_exp, key=microkernel.BLOCK)


# contract: Horner's multiply-adds become FMAs (half the instructions, and each one
# rounds once, so no less accurate). error_model numpy: 1 / 0 gives inf, not an exception.
@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _softmax(a, p):
    n, c = a.shape
    for i in range(n):
        top, nan = a[i, 0], False
        for j in range(c):  # branch-free: a max and a NaN flag per row
            top = max(top, a[i, j])
            nan |= np.isnan(a[i, j])
        if nan or not np.isfinite(top):  # NaN, +inf or an all -inf row must give NaN, as
            p[i, :] = -np.inf  # scipy does: exps 0, sum 0, 0 * (1 / 0) is NaN
        else:
            for j in range(c):
                p[i, j] = a[i, j] - top
    exp_nonpositive_all(p.reshape(-1))  # every exponential of the block at once
    for i in range(n):  # a good row sums to >= 1 (its maximum gives e**0)
        total = 0.0
        for j in range(c):
            total += p[i, j]
        inv = 1.0 / total  # one division per row, not per element
        for j in range(c):
            p[i, j] *= inv


@kernel
def softmax(a, p):
    """compiled loops; the exponentials of the whole block in one vectorized loop."""
    _softmax(a, p)
