"""Non-temporal stores for the numba backends: a stream of output written straight to
memory, past the caches.

An ordinary store first reads the line it writes into the cache (write-allocate), so a
kernel that reads its input once and writes its output once moves three bytes for every
two it counts: at most two thirds of the copy limit, which ``np.copyto`` reaches with
non-temporal stores. ``stream_copy`` copies a cache-hot buffer to its place in a large
output with 64-byte non-temporal vector stores (LLVM's ``!nontemporal``: MOVNTPD/PS on
x86), the unaligned head and tail with ordinary ones; ``fence`` orders them before the
caller returns. Worth it only where the output streams (larger than the caches) and the
CPU gains by it, so the callers ask ``use_stream_stores``. Imported only by the numba
backends.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import store_kind

LINE = 64  # bytes per non-temporal store: one cache line


@intrinsic
def _stream_lines(typingctx, dst, src, first, lines):
    """Copy ``lines`` cache lines of elements from src[first:] to dst[first:] (1-D, one
    float dtype), dst[first] on a 64-byte boundary, with non-temporal stores."""
    if not all(isinstance(a, types.Array) and a.ndim == 1 for a in (dst, src)):
        return None
    if dst.dtype not in (types.float32, types.float64) or src.dtype != dst.dtype:
        return None
    sig = types.void(dst, src, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        d, s, first, lines = args
        intp = context.get_value_type(types.intp)
        scalar = context.get_value_type(signature.args[0].dtype)
        size = context.get_abi_sizeof(scalar)
        vec = ir.VectorType(scalar, LINE // size)
        base = [
            builder.ptrtoint(context.make_array(ty)(context, builder, value).data, intp)
            for value, ty in ((d, signature.args[0]), (s, signature.args[1]))
        ]
        start = builder.mul(first, ir.Constant(intp, size))
        mark = context.get_constant(types.int32, 1)
        with cgutils.for_range(builder, lines) as loop:
            offset = builder.add(start, builder.mul(loop.index, ir.Constant(intp, LINE)))
            source = builder.inttoptr(builder.add(base[1], offset), ir.PointerType())
            target = builder.inttoptr(builder.add(base[0], offset), ir.PointerType())
            value = builder.load(source, typ=vec, align=size)
            store = builder.store(value, target, align=LINE)
            store.set_metadata("nontemporal", builder.module.add_metadata([mark]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def fence(typingctx):
    """Order the non-temporal stores before what follows (x86: SFENCE)."""

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


@numba.njit(cache=True, inline="always")
def stream_copy(dst, src):
    """dst[:] = src for 1-D C-contiguous arrays of one float dtype and length, the
    64-byte-aligned part of dst with non-temporal stores (call ``fence`` after the last)."""
    n, size = dst.size, dst.itemsize
    head = min(n, (LINE - dst.ctypes.data % LINE) % LINE // size)
    for k in range(head):
        dst[k] = src[k]
    lines = (n - head) * size // LINE
    _stream_lines(dst, src, head, lines)
    for k in range(head + lines * LINE // size, n):
        dst[k] = src[k]


def use_stream_stores(out) -> bool:
    """Write ``out`` with non-temporal stores? Where the kind is non-temporal
    (``store_kind.current``: forced, or measured faster here by autotune) and ``out`` is
    C-contiguous and aligned. Ordinary stores otherwise: on the Intel Xeon measured
    they won (docs/results), so no CPU gets non-temporal ones without a measurement
    saying so."""
    return store_kind.current() == "nontemporal" and out.flags.c_contiguous and out.flags.aligned
