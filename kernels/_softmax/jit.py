"""softmax, ``numba`` backend: compiled loops with an exponential that vectorizes.

The bottleneck of a plain compiled softmax is ``math.exp``: LLVM cannot vectorize
a call into libm, so each of the K x 10 exponentials costs a scalar call (4.4 us of
the 5 us a (100, 10) block took). After the row maximum is subtracted every
argument is <= 0, which allows a branch-free exponential made of multiplies, a
rounding and a bit cast, and LLVM turns its loop into SIMD code; letting LLVM fuse
its multiply-adds (FMA) and marking bad rows in the output instead of a separate
array brought a (100, 10) block from 3.1 to 2.2 us (Xeon, AVX-512).
"""
import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import prepare

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01   # ln 2 split in two (fdlibm): n * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
# 1/k! for k = 13 .. 0: the Taylor series of e^r, truncation error < 1e-17 for |r| <= ln2/2
INV_FACTORIAL = tuple(1.0 / math.factorial(k) for k in range(13, -1, -1))


@intrinsic
def _bits_as_float(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (a free bit cast)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(cache=True, inline="always")
def _exp_nonpositive(x):
    """e**x for x <= 0 (x = -inf gives 0), to about 2 ulp, without a libm call."""
    x = max(x, -746.0)                     # below this e**x rounds to 0
    k = math.floor(x * LOG2E + 0.5)        # x = k ln2 + r, |r| <= ln2 / 2
    r = (x - k * LN2_HI) - k * LN2_LO
    p = INV_FACTORIAL[0]
    for c in INV_FACTORIAL[1:]:            # unrolled at compile time: Horner
        p = p * r + c
    half = k >> 1                          # 2**k as two factors, so subnormal results round right
    return p * _bits_as_float((half + 1023) << 52) * _bits_as_float((k - half + 1023) << 52)


# contract: Horner's multiply-adds become FMAs (half the instructions, and each one
# rounds once, so no less accurate). error_model numpy: 1 / 0 gives inf, not an exception.
@numba.njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _softmax(a, p):
    n, c = a.shape
    for i in range(n):
        top, nan = a[i, 0], False
        for j in range(c):                 # branch-free: a max and a NaN flag per row
            top = max(top, a[i, j])
            nan |= np.isnan(a[i, j])
        if nan or not np.isfinite(top):    # NaN, +inf or an all -inf row must give NaN, as
            p[i, :] = -np.inf              # scipy does: exps 0, sum 0, 0 * (1 / 0) is NaN
        else:
            for j in range(c):
                p[i, j] = a[i, j] - top
    flat = p.reshape(-1)
    for k in range(flat.size):             # the vectorized loop: every exponential at once
        flat[k] = _exp_nonpositive(flat[k])
    for i in range(n):                     # a good row sums to >= 1 (its maximum gives e**0)
        total = 0.0
        for j in range(c):
            total += p[i, j]
        inv = 1.0 / total                  # one division per row, not per element
        for j in range(c):
            p[i, j] *= inv


def softmax(z):
    """Row-wise softmax over the last axis.

    z: ``(C,)`` or ``(N, C)``, float32/float64 (integers -> float64).
    Returns probabilities of the same shape and dtype.
    """
    a, single = prepare(z)
    p = np.empty(a.shape, a.dtype)
    _softmax(a, p)
    return p[0] if single else p
