"""The machine's FMA rate: independent chains of vector fused multiply-adds held in
registers, no load or store in the loop, over every vector width and chain count that
could reach the peak (``SHAPES``), the best kept (docs/design.md, section 7). Not the
microkernel's own block: a slow block must not lower its own bar. The FLOP limit's rate
beside a library's large matrix product (limits.py). Imports numba: limits.py imports it
only when it measures."""

from __future__ import annotations

import functools

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ...ops.tile import Vectors

# vector bits x independent chains: 128 to 512 bits (LLVM splits a vector wider than the
# CPU's), 8 to 24 chains (an FMA's latency times the FMA units is 8 to 10 on the CPUs
# met; more chains than registers spill, and simply lose)
SHAPES = tuple((bits, chains) for bits in (128, 256, 512) for chains in (8, 12, 16, 24))


def _fma_chains(bits: int, chains: int):
    """The intrinsic ``fma_chains(x, n)``: ``chains`` independent chains of n fused
    multiply-adds on vectors of ``bits`` held in registers (no load, no store in the
    loop); returns the sum of the chains' lanes, so that nothing is optimised away."""

    @intrinsic
    def fma_chains(typingctx, x, n):
        if x not in (types.float32, types.float64) or not isinstance(n, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            x, n = args
            V = Vectors(context, builder, signature.args[0], bits)
            count = builder.sext(n, ir.IntType(64)) if n.type.width < 64 else n
            entry = builder.block
            loop = builder.append_basic_block("fma.loop")
            done = builder.append_basic_block("fma.done")
            vx = V.splat(x)
            builder.branch(loop)
            builder.position_at_end(loop)
            i = builder.phi(count.type)
            acc = [builder.phi(V.vec) for _ in range(chains)]
            new = [V.fma(c, vx, vx) for c in acc]  # c * x + x
            i1 = builder.add(i, ir.Constant(count.type, 1))
            i.add_incoming(ir.Constant(count.type, 0), entry)
            i.add_incoming(i1, loop)
            for c, v in zip(acc, new):
                c.add_incoming(vx, entry)
                c.add_incoming(v, loop)
            builder.cbranch(builder.icmp_signed("<", i1, count), loop, done)
            builder.position_at_end(done)
            total = new[0]
            for v in new[1:]:
                total = builder.fadd(total, v)
            out = builder.extract_element(total, ir.Constant(ir.IntType(32), 0))
            for lane in range(1, V.width):
                lane_value = builder.extract_element(total, ir.Constant(ir.IntType(32), lane))
                out = builder.fadd(out, lane_value)
            return out

        return x(x, n), codegen

    return fma_chains


@functools.cache
def fma_loop(bits: int, chains: int):
    """The compiled ``loop(x, n)``: n steps of ``chains`` chains of ``bits``-bit vectors
    at x's dtype (compiled once per process and shape; a closure, so not cached on disk:
    about 0.1 s each)."""
    step = _fma_chains(bits, chains)
    return numba.njit(lambda x, n: step(x, n))


def fma_flop(dtype, bits: int, chains: int, n: int) -> int:
    """The FLOP of ``fma_loop(bits, chains)(dtype(x), n)``: 2 per lane per fused
    multiply-add."""
    import numpy as np

    return 2 * (bits // (8 * np.dtype(dtype).itemsize)) * chains * n
