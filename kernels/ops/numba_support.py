"""What the numba backends share: the thread count in force and an exponential that
LLVM vectorizes. Imported only by the ``jit.py`` modules, so ``import kernels`` never
imports numba.

The exponential: a compiled loop over ``math.exp`` calls libm once per element, which
LLVM cannot vectorize, and those calls were most of a softmax block's time. Where every
argument is <= 0 (after a row's maximum is subtracted), a branch-free exponential made
of multiplies, a rounding and a bit cast is exact to about 2 ulp, and its loop becomes
SIMD code.
"""

import math

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two (fdlibm): n * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
# 1/k! for k = 13 .. 0: the Taylor series of e^r, truncation error < 1e-17 for |r| <= ln2/2
INV_FACTORIAL = tuple(1.0 / math.factorial(k) for k in range(13, -1, -1))


def threads() -> int:
    """numba's thread count; NUMBA_NUM_THREADS=1 (what ``pin(1)`` sets) answers without
    starting the thread pool, whose code is slow to load from the cache."""
    return 1 if numba.config.NUMBA_NUM_THREADS == 1 else numba.get_num_threads()


@intrinsic
def _bits_as_float(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (a free bit cast)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(cache=True, inline="always")
def exp_nonpositive(x):
    """e**x for x <= 0 (x = -inf gives 0, NaN stays NaN), to about 2 ulp, without libm."""
    x = max(x, -746.0)  # below this e**x rounds to 0
    k = math.floor(x * LOG2E + 0.5)  # x = k ln2 + r, |r| <= ln2 / 2
    r = (x - k * LN2_HI) - k * LN2_LO
    p = INV_FACTORIAL[0]
    for c in INV_FACTORIAL[1:]:  # unrolled at compile time: Horner
        p = p * r + c
    half = k >> 1  # 2**k as two factors, so subnormal results round right
    return p * _bits_as_float((half + 1023) << 52) * _bits_as_float((k - half + 1023) << 52)
