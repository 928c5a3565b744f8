"""A small matrix product of our own for the numba backends: ``C = alpha A B + beta C``
won in registers (the GotoBLAS/BLIS microkernel idea), with explicit vector code.

A tile of MR rows x NV vectors of C stays in vector registers while the reduction
streams one row of B (NV vector loads) and one column of A (MR scalar broadcasts)
per step: MR * NV fused multiply-adds for MR + NV loads. LLVM's loop vectorizer
does not find this at the MLP's shapes (plain loops ran at 1-7 GFLOP/s), so the
tile is written in LLVM IR through ``numba.extending.intrinsic`` and llvmlite, and
inlined into the compiled caller. Imported only by the ``jit.py`` modules.

Layouts: A (M, P) any strides (its elements are broadcast one at a time); B (P, N)
and C (M, N) with unit stride along their rows (vector loads and stores), N a
multiple of the vector width ``lanes(dtype)``: callers pad the columns (``padded``).
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def block(cpu: str | None = None, features: str | None = None) -> tuple[int, int, int]:
    """The register block for this CPU: (MR rows, NV vectors, vector bits).

    MR * NV accumulators + NV vectors of B + one broadcast must fit the register file
    (32 vector registers with AVX-512, 16 with AVX2), and MR * NV must cover the FMA
    latency times the FMA units. Zen 4 runs a 512-bit FMA as two 256-bit halves, so
    256-bit vectors give it the same FLOP rate with less waste in the column tail
    (dh = 50 is 6.25 vectors of 8 doubles, 12.5 of 4); CPUs with two 512-bit FMA
    units (Intel Xeon) want 512-bit vectors. Measured per CPU in docs/design.md.
    """
    cpu = llvm.get_host_cpu_name() if cpu is None else cpu
    features = llvm.get_host_cpu_features().flatten() if features is None else features
    if "+avx512f" in features:
        if cpu.startswith("znver"):
            return 6, 4, 256
        return 8, 3, 512
    if "+avx2" in features or "+fma" in features:
        return 4, 3, 256
    return 4, 2, 128                       # SSE2: every x86-64


MR, NV, BITS = block()


def lanes(dtype) -> int:
    """Elements of ``dtype`` in one vector of the block."""
    return BITS // (8 * np.dtype(dtype).itemsize)


@numba.njit(cache=True, inline="always")
def lanes_of(a):
    """lanes(a.dtype), in compiled code."""
    return BITS // (8 * a.itemsize)


def padded(n: int, dtype) -> int:
    """n rounded up to a whole number of vectors."""
    w = lanes(dtype)
    return -(-n // w) * w


def _tile(mr: int, nv: int, bits: int, prefetch: bool = False):
    """The intrinsic ``tile(A, B, C, i0, j0, rows, nvec, alpha, beta)``: rows i0 to
    i0 + rows (rows <= mr) and columns j0 to j0 + nvec * lanes (nvec <= nv) of
    ``C = alpha A B + beta C`` (beta == 0: C is not read, as BLAS). Rows past ``rows``
    are computed on a copy of the last row and not stored, so one code path serves
    every row count; ``nvec`` selects one of nv compiled variants."""

    @intrinsic
    def tile(typingctx, A, B, C, i0, j0, rows, nvec, alpha, beta):
        arrays = (A, B, C)
        if not all(isinstance(a, types.Array) and a.ndim == 2 for a in arrays):
            return None
        dtype = A.dtype
        if dtype not in (types.float32, types.float64) or B.dtype != dtype or C.dtype != dtype:
            return None
        sig = types.void(A, B, C, types.intp, types.intp, types.intp, types.intp, dtype, dtype)

        def codegen(context, builder, signature, args):
            a, b, c, i0, j0, rows, nvec, alpha, beta = args
            scalar = context.get_value_type(dtype)
            width = bits // (8 * (4 if dtype == types.float32 else 8))
            size = width * (4 if dtype == types.float32 else 8)
            vec = ir.VectorType(scalar, width)
            intp = context.get_value_type(types.intp)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec] * 3),
                f"llvm.fma.v{width}f{32 if dtype == types.float32 else 64}")

            def unpack(value, ty):
                ary = context.make_array(ty)(context, builder, value)
                strides = cgutils.unpack_tuple(builder, ary.strides, 2)
                return builder.ptrtoint(ary.data, intp), strides

            (pa, (sa0, sa1)), (pb, (sb0, _)), (pc, (sc0, _)) = (
                unpack(v, t) for v, t in zip((a, b, c), arrays))
            item = ir.Constant(intp, size // width)
            last = builder.sub(builder.add(i0, rows), ir.Constant(intp, 1))
            # A's rows of the tile, the ones past `rows` clamped to the last
            arows = []
            for r in range(mr):
                i = builder.add(i0, ir.Constant(intp, r))
                i = builder.select(builder.icmp_signed("<=", i, last), i, last)
                arows.append(builder.add(pa, builder.mul(i, sa0)))
            # the next tile's rows of A, clamped like these: fetched into the cache while
            # this tile computes, so that A streaming from memory (x in the forward
            # product) arrives ahead of its use
            M = builder.extract_value(context.make_array(A)(context, builder, a).shape, 0)
            end = builder.sub(M, ir.Constant(intp, 1))
            ahead = []
            for r in range(mr if prefetch else 0):
                i = builder.add(i0, ir.Constant(intp, mr + r))
                i = builder.select(builder.icmp_signed("<=", i, end), i, end)
                ahead.append(builder.add(pa, builder.mul(i, sa0)))
            fetch = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [ir.PointerType()] + [ir.IntType(32)] * 3),
                "llvm.prefetch.p0")
            pb = builder.add(pb, builder.mul(j0, item))
            pc = builder.add(builder.add(pc, builder.mul(i0, sc0)), builder.mul(j0, item))
            P = builder.extract_value(context.make_array(A)(context, builder, a).shape, 1)
            zero = ir.Constant(vec, None)
            undef_vec = ir.Constant(vec, ir.Undefined)
            splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), width), None)

            def splat(x):
                return builder.shuffle_vector(
                    builder.insert_element(undef_vec, x, ir.Constant(ir.IntType(32), 0)),
                    undef_vec, splat_mask)

            def load(address, ty):
                return builder.load(builder.inttoptr(address, ir.PointerType()), typ=ty,
                                    align=size // width)

            fn = builder.function
            done = fn.append_basic_block("tile.done")
            switch = builder.switch(nvec, done)
            for n in range(1, nv + 1):
                entry = fn.append_basic_block(f"tile.nv{n}")
                switch.add_case(ir.Constant(intp, n), entry)
                builder.position_at_end(entry)
                loop, stores = fn.append_basic_block(f"tile.nv{n}.loop"), fn.append_basic_block(f"tile.nv{n}.store")
                builder.cbranch(builder.icmp_signed(">", P, ir.Constant(intp, 0)), loop, stores)
                # the reduction: acc[r][v] += A[i0 + r, p] * B[p, j0 + v * width ...]
                builder.position_at_end(loop)
                p = builder.phi(intp)
                p.add_incoming(ir.Constant(intp, 0), entry)
                acc = [[builder.phi(vec) for _ in range(n)] for _ in range(mr)]
                for row in acc:
                    for x in row:
                        x.add_incoming(zero, entry)
                brow = builder.add(pb, builder.mul(p, sb0))
                bv = [load(builder.add(brow, ir.Constant(intp, v * size)), vec) for v in range(n)]
                new = []
                for r in range(mr):
                    av = splat(load(builder.add(arows[r], builder.mul(p, sa1)), scalar))
                    if prefetch:
                        builder.call(fetch, [builder.inttoptr(builder.add(ahead[r], builder.mul(p, sa1)), ir.PointerType())]
                                     + [ir.Constant(ir.IntType(32), v) for v in (0, 3, 1)])
                    new.append([builder.call(fma, [av, bv[v], acc[r][v]]) for v in range(n)])
                p1 = builder.add(p, ir.Constant(intp, 1))
                end = builder.block
                p.add_incoming(p1, end)
                for r in range(mr):
                    for v in range(n):
                        acc[r][v].add_incoming(new[r][v], end)
                builder.cbranch(builder.icmp_signed("<", p1, P), loop, stores)
                # C's rows of the tile: alpha acc, plus beta C where beta != 0
                builder.position_at_end(stores)
                sums = [[builder.phi(vec) for _ in range(n)] for _ in range(mr)]
                for r in range(mr):
                    for v in range(n):
                        sums[r][v].add_incoming(zero, entry)
                        sums[r][v].add_incoming(new[r][v], end)
                va, vb = splat(alpha), splat(beta)
                keep = builder.fcmp_unordered("!=", beta, ir.Constant(scalar, 0))
                for r in range(mr):
                    with builder.if_then(builder.icmp_signed("<", ir.Constant(intp, r), rows)):
                        crow = builder.add(pc, builder.mul(ir.Constant(intp, r), sc0))
                        for v in range(n):
                            ptr = builder.inttoptr(builder.add(crow, ir.Constant(intp, v * size)),
                                                   ir.PointerType())
                            out = builder.fmul(va, sums[r][v])
                            with builder.if_else(keep) as (then, otherwise):
                                with then:
                                    old = builder.load(ptr, typ=vec, align=size // width)
                                    mixed, from_then = builder.call(fma, [vb, old, out]), builder.block
                                with otherwise:
                                    from_otherwise = builder.block
                            merged = builder.phi(vec)
                            merged.add_incoming(mixed, from_then)
                            merged.add_incoming(out, from_otherwise)
                            out = merged
                            builder.store(out, ptr, align=size // width)
                builder.branch(done)
            builder.position_at_end(done)
            return context.get_dummy_value()

        return sig, codegen

    return tile


tile = _tile(MR, NV, BITS)
tile_ahead = _tile(MR, NV, BITS, prefetch=True)


@numba.njit(cache=True, inline="always")
def _split(N, width):
    """Vectors per block of columns: N / width vectors in as few blocks of at most NV as
    possible, as even as possible (a last block of one vector would leave the FMA units
    waiting on its few accumulators)."""
    total = N // width
    blocks = -(-total // NV)
    return blocks, total // blocks, total % blocks


@numba.njit(cache=True)
def gemm(A, B, C, alpha, beta):
    """C = alpha A B + beta C. A (M, P) any strides; B (P, N), C (M, N) of one dtype
    (float32 or float64) with unit stride along rows, N a multiple of lanes(dtype).
    Blocks of columns outside, row tiles inside: B's panel stays in the cache."""
    M, N = C.shape
    width = lanes_of(C)
    blocks, each, extra = _split(N, width)
    j0 = 0
    for b in range(blocks):
        nvec = each + (1 if b < extra else 0)
        for i0 in range(0, M, MR):
            tile(A, B, C, i0, j0, min(MR, M - i0), nvec, alpha, beta)
        j0 += nvec * width


@numba.njit(cache=True)
def gemm_rows(A, B, C, alpha, beta):
    """gemm with row tiles outside: each tile of A is read once from memory (and the
    next one fetched while the first block of columns computes), for an A that
    streams from memory, as x does in the forward product."""
    M, N = C.shape
    width = lanes_of(C)
    blocks, each, extra = _split(N, width)
    for i0 in range(0, M, MR):
        rows = min(MR, M - i0)
        tile_ahead(A, B, C, i0, 0, rows, each + (1 if extra > 0 else 0), alpha, beta)
        j0 = (each + (1 if extra > 0 else 0)) * width
        for b in range(1, blocks):
            nvec = each + (1 if b < extra else 0)
            tile(A, B, C, i0, j0, rows, nvec, alpha, beta)
            j0 += nvec * width


@numba.njit(cache=True)
def product(A, B, C):
    """C = A B for A (M, P), B (P, N), C (M, N) of one dtype and any strides: through
    gemm directly where B and C have whole vectors of unit-stride columns, else
    through copies with the columns padded to whole vectors."""
    one, zero = C.dtype.type(1), C.dtype.type(0)
    N, width = C.shape[1], lanes_of(C)
    if N % width == 0 and B.strides[1] == B.itemsize and C.strides[1] == C.itemsize:
        gemm(A, B, C, one, zero)
        return
    Np = -(-N // width) * width
    Bp = np.zeros((B.shape[0], Np), C.dtype)
    Bp[:, :N] = B
    Cp = np.empty((C.shape[0], Np), C.dtype)
    gemm(A, Bp, Cp, one, zero)
    C[:, :] = Cp[:, :N]


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
            scalar = context.get_value_type(x.type == ir.FloatType() and types.float32 or types.float64)
            width = bits // (32 if x.type == ir.FloatType() else 64)
            vec = ir.VectorType(x.type, width)
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [vec] * 3),
                f"llvm.fma.v{width}f{32 if x.type == ir.FloatType() else 64}")
            splat = builder.insert_element(ir.Constant(vec, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
            splat = builder.shuffle_vector(splat, ir.Constant(vec, ir.Undefined),
                                           ir.Constant(ir.VectorType(ir.IntType(32), width), None))
            count = builder.zext(n, ir.IntType(64)) if n.type.width < 64 else n
            entry, loop, done = builder.block, builder.append_basic_block("fma.loop"), builder.append_basic_block("fma.done")
            builder.branch(loop)
            builder.position_at_end(loop)
            i = builder.phi(count.type)
            i.add_incoming(ir.Constant(count.type, 0), entry)
            chains = [builder.phi(vec) for _ in range(MR * NV)]
            new = [builder.call(fma, [c, splat, splat]) for c in chains]   # c * x + x
            for c, v in zip(chains, new):
                c.add_incoming(splat, entry)
                c.add_incoming(v, loop)
            i1 = builder.add(i, ir.Constant(count.type, 1))
            i.add_incoming(i1, loop)
            builder.cbranch(builder.icmp_signed("<", i1, count), loop, done)
            builder.position_at_end(done)
            total = new[0]
            for v in new[1:]:
                total = builder.fadd(total, v)
            out = builder.extract_element(total, ir.Constant(ir.IntType(32), 0))
            for lane in range(1, width):
                out = builder.fadd(out, builder.extract_element(total, ir.Constant(ir.IntType(32), lane)))
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
