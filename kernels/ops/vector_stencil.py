"""The gradient-norm feature of one image (docs/design.md, section 2.1) in explicit
vectors of the register block's width (``microkernel.BITS64``: measured by autotune, or
the CPU table).

The image is taken as one flat run of pixels: inside it, the row neighbours of pixel p
are p - W and p + W and the column neighbours p - 1 and p + 1 whatever the row, so the
interior rows are one vector loop with no edge in it, the first and last rows two
more, each with a masked last vector. The two edge columns, wrong in those runs, are
then computed again, one pixel at a time. A loop per image row (26 interior pixels of a
Fashion-MNIST row) is too short for a vector loop: its setup and scalar remainder came
with every row, float32's 16 lanes the worst. The arithmetic is the scalar definition's,
operation for operation (no fused multiply-adds), so the result is bit for bit the
same. Imported only by the numba backends.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import microkernel, numba_cache, tile
from .microkernel import BITS64
from .tile import Vectors

# the vectors are the block's: code compiled here for one block is kept apart from another's
numba_cache.track(__file__, tile, key=microkernel.BLOCK)


def make_differences(bits: int):
    """The intrinsic ``differences(f, o, fi, oi, count, up, down, a, half)``: for q in
    [0, count), with p = fi + q::

        o[oi + q] = ((f[p + up] - f[p - down]) * a)**2 + ((f[p + 1] - f[p - 1]) * half)**2

    f and o 1-D, contiguous, one float dtype (a and half in it), in vectors of ``bits``;
    the last, partial vector masked, so that nothing outside the run is read or written."""

    @intrinsic
    def differences(typingctx, f, o, fi, oi, count, up, down, a, half):
        if not all(isinstance(x, types.Array) and x.ndim == 1 for x in (f, o)):
            return None
        if f.dtype not in (types.float32, types.float64) or o.dtype != f.dtype:
            return None
        intp = types.intp
        sig = types.void(f, o, intp, intp, intp, intp, intp, f.dtype, f.dtype)

        def codegen(context, builder, signature, args):
            fa, oa, fi, oi, count, up, down, a, half = args
            V = Vectors(context, builder, f.dtype, bits)
            n, size, ity = V.width, V.size, context.get_value_type(intp)
            const = lambda v: ir.Constant(ity, v)  # noqa: E731
            data = [
                builder.ptrtoint(context.make_array(t)(context, builder, x).data, ity)
                for x, t in ((fa, f), (oa, o))
            ]
            va, vh = V.splat(a), V.splat(half)

            def run(q, mask):
                """The vector of pixels q, q + 1, ... of the run (mask: which of them)."""

                def load(offset):
                    index = builder.add(builder.add(fi, q), offset)
                    address = builder.add(data[0], builder.mul(index, const(size)))
                    return V.load(address) if mask is None else V.load_masked(address, mask)

                d_row = builder.fmul(builder.fsub(load(up), load(builder.neg(down))), va)
                d_col = builder.fmul(builder.fsub(load(const(1)), load(const(-1))), vh)
                g = builder.fadd(builder.fmul(d_row, d_row), builder.fmul(d_col, d_col))
                target = builder.add(data[1], builder.mul(builder.add(oi, q), const(size)))
                if mask is None:
                    V.store(g, target)
                else:
                    V.store_masked(g, target, mask)

            whole = builder.sdiv(count, const(n))
            with cgutils.for_range(builder, whole) as loop:
                run(builder.mul(loop.index, const(n)), None)
            rest = builder.sub(count, builder.mul(whole, const(n)))
            with builder.if_then(builder.icmp_signed(">", rest, const(0))):
                run(builder.mul(whole, const(n)), V.below(rest))
            return context.get_dummy_value()

        return sig, codegen

    return differences


_differences = make_differences(BITS64)


@numba.njit(cache=True, inline="always")
def edges(f, o, fi, oi, h, w, half):
    """Columns 0 and w - 1 of the image f[fi:fi + h * w] into o[oi:oi + h * w]: one-sided
    differences along the columns, as numpy.gradient takes at the edges."""
    one = half + half
    for i in range(h):
        up, down = fi + min(i + 1, h - 1) * w, fi + max(i - 1, 0) * w
        rs = half if 0 < i < h - 1 else one
        row = fi + i * w
        d_row = (f[up] - f[down]) * rs
        d_col = f[row + 1] - f[row]
        o[oi + i * w] = d_row * d_row + d_col * d_col
        d_row = (f[up + w - 1] - f[down + w - 1]) * rs
        d_col = f[row + w - 1] - f[row + w - 2]
        o[oi + i * w + w - 1] = d_row * d_row + d_col * d_col


@numba.njit(cache=True, inline="always")
def gradient_image(f, o, fi, oi, h, w, half):
    """o[oi:oi + h * w] = the gradient norm of the image f[fi:fi + h * w] (h, w >= 2; f,
    o 1-D, contiguous; half is 0.5 in their dtype)."""
    one = half + half
    if h > 2:  # the interior rows: central differences along both axes
        _differences(f, o, fi + w, oi + w, (h - 2) * w, w, w, half, half)
    # first and last rows: one-sided along the rows (their first and last pixel are edges)
    _differences(f, o, fi + 1, oi + 1, w - 2, w, 0, one, half)
    last = (h - 1) * w + 1
    _differences(f, o, fi + last, oi + last, w - 2, 0, w, one, half)
    edges(f, o, fi, oi, h, w, half)
