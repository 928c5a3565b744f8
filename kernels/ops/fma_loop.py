"""The machine's FMA rate, measured with the register block of the numba microkernel
(microkernel.py): independent chains of vector fused multiply-adds held in registers,
no load or store in the loop. The FLOP limit's rate beside a library's large matrix
product (kernels/bench/timing/limits.py). Imported only there, so ``import kernels`` never
imports numba."""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import numba_cache, tile
from .microkernel import BITS, BLOCK, MR, NV, lanes
from .tile import Vectors

numba_cache.track(__file__, tile, key=BLOCK)


def _fma_chains(bits: int):
    """The intrinsic ``fma_chains(x, n)``: MR * NV independent chains of n fused
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
            entry, loop, done = (
                builder.block,
                builder.append_basic_block("fma.loop"),
                builder.append_basic_block("fma.done"),
            )
            vx = V.splat(x)
            builder.branch(loop)
            builder.position_at_end(loop)
            i = builder.phi(count.type)
            chains = [builder.phi(V.vec) for _ in range(MR * NV)]
            new = [V.fma(c, vx, vx) for c in chains]  # c * x + x
            i1 = builder.add(i, ir.Constant(count.type, 1))
            i.add_incoming(ir.Constant(count.type, 0), entry)
            i.add_incoming(i1, loop)
            for c, v in zip(chains, new):
                c.add_incoming(vx, entry)
                c.add_incoming(v, loop)
            builder.cbranch(builder.icmp_signed("<", i1, count), loop, done)
            builder.position_at_end(done)
            total = new[0]
            for v in new[1:]:
                total = builder.fadd(total, v)
            out = builder.extract_element(total, ir.Constant(ir.IntType(32), 0))
            for lane in range(1, V.width):
                out = builder.fadd(
                    out, builder.extract_element(total, ir.Constant(ir.IntType(32), lane))
                )
            return out

        return x(x, n), codegen

    return fma_chains


_chains = _fma_chains(BITS)


@numba.njit(cache=True)
def fma_loop(x, n):
    """n steps of the register-resident FMA loop (see _fma_chains) at x's dtype."""
    return _chains(x, n)


def fma_flop(dtype, n: int) -> int:
    """The FLOP of ``fma_loop(dtype(x), n)``: 2 per lane per fused multiply-add."""
    return 2 * lanes(dtype) * MR * NV * n
