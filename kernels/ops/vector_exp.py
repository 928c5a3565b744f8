"""``numba_support.exp_nonpositive`` over a whole array, in explicit vectors of the
register block's width (``microkernel.BITS64``: measured by autotune, or the CPU table).

LLVM's loop vectorizer already turns a loop of ``exp_nonpositive`` calls into SIMD code,
but on Intel's AVX-512 CPUs it keeps to 256-bit vectors (LLVM's tuning for them,
prefer-256-bit, avoids the lower clock of 512-bit code), where the exponential, thirteen
dependent FMAs and a few integer operations per element, gains from the wider ones. On
the Intel Xeon measured, a 100 x 10 softmax block's exponentials took 1.2 us with
256-bit vectors and 0.7 us with 512-bit ones. Same arithmetic, same results, lane for
lane. Imported only by the numba backends.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import microkernel, numba_cache, numba_support, tile
from .microkernel import BITS64
from .numba_support import INV_FACTORIAL, LN2_HI, LN2_LO, LOG2E, exp_nonpositive
from .tile import Vectors

# LANES below is the block's: code compiled here for one block is kept apart from another's
numba_cache.track(__file__, numba_support, tile, key=microkernel.BLOCK)


def make_exp(bits: int):
    """The intrinsic ``exp_vectors(flat, count)``: flat[k] = e**flat[k] for k < count *
    bits // 64 (flat 1-D, contiguous, float32 or float64, every element <= 0 or NaN), in
    vectors of ``bits`` // 64 float64 lanes (float32 data widened), each lane as
    ``exp_nonpositive`` computes one element."""
    lanes = bits // 64

    @intrinsic
    def exp_vectors(typingctx, flat, count):
        if not (isinstance(flat, types.Array) and flat.ndim == 1):
            return None
        if flat.dtype not in (types.float32, types.float64):
            return None

        def codegen(context, builder, signature, args):
            data, count = args
            intp = context.get_value_type(types.intp)
            V = Vectors(context, builder, types.float64, bits)
            stored = ir.VectorType(context.get_value_type(flat.dtype), lanes)
            size = context.get_abi_sizeof(stored.element)
            i64 = ir.VectorType(ir.IntType(64), lanes)
            base = builder.ptrtoint(context.make_array(flat)(context, builder, data).data, intp)
            const = lambda v: V.splat(ir.Constant(V.scalar, v))  # noqa: E731
            ints = lambda v: ir.Constant(i64, [v] * lanes)  # noqa: E731
            floor = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(V.vec, [V.vec]), f"llvm.floor.v{lanes}f64"
            )
            with cgutils.for_range(builder, count) as loop:
                address = builder.inttoptr(
                    builder.add(base, builder.mul(loop.index, ir.Constant(intp, size * lanes))),
                    ir.PointerType(),
                )
                x = builder.load(address, typ=stored, align=size)
                if flat.dtype == types.float32:
                    x = builder.fpext(x, V.vec)
                low = const(-746.0)  # below this e**x rounds to 0; NaN compares false and stays
                x = builder.select(builder.fcmp_ordered("<", x, low), low, x)
                k = builder.call(floor, [V.fma(x, const(LOG2E), const(0.5))])
                r = V.fma(builder.fneg(k), const(LN2_HI), x)
                r = V.fma(builder.fneg(k), const(LN2_LO), r)
                p = const(INV_FACTORIAL[0])
                for c in INV_FACTORIAL[1:]:
                    p = V.fma(p, r, const(c))
                # 2**k as two factors (subnormal results round right); a NaN's k becomes 0,
                # so that the conversion to integers is defined
                k = builder.select(builder.fcmp_unordered("uno", k, k), V.zero, k)
                n = builder.fptosi(k, i64)
                half = builder.ashr(n, ints(1))
                scale = [
                    builder.bitcast(builder.shl(builder.add(e, ints(1023)), ints(52)), V.vec)
                    for e in (half, builder.sub(n, half))
                ]
                e = builder.fmul(builder.fmul(p, scale[0]), scale[1])
                if flat.dtype == types.float32:
                    e = builder.fptrunc(e, stored)
                builder.store(e, address, align=size)
            return context.get_dummy_value()

        return types.void(flat, types.intp), codegen

    return exp_vectors


LANES = BITS64 // 64  # float64 lanes of the block's vectors
_exp_vectors = make_exp(BITS64)


@numba.njit(cache=True, inline="always")
def exp_nonpositive_all(flat):
    """flat[k] = exp_nonpositive(flat[k]) for every k, in place; flat 1-D, C-contiguous,
    float32 or float64, every element <= 0 or NaN."""
    whole = flat.size // LANES
    _exp_vectors(flat, whole)
    for k in range(whole * LANES, flat.size):
        flat[k] = exp_nonpositive(flat[k])
