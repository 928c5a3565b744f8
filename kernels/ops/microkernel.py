"""A small matrix product of our own for the numba backends: ``C = alpha A B + beta C``
won in registers (the GotoBLAS/BLIS microkernel idea), with explicit vector code.

A tile of MR rows x NV vectors of C stays in vector registers while the reduction
streams one row of B (NV vector loads) and one column of A (MR scalar broadcasts)
per step: MR * NV fused multiply-adds for MR + NV loads. LLVM's loop vectorizer
does not find this at the MLP's shapes (plain loops ran at 1-7 GFLOP/s), so the
tile is written in LLVM IR through ``numba.extending.intrinsic`` and llvmlite, and
inlined into the compiled caller. Imported only by the numba backends and the FMA loop
of the FLOP limit (fma_loop.py), so ``import kernels`` never imports numba.

Layouts: A (M, P) any strides (its elements are broadcast one at a time); B (P, N)
and C (M, N) with unit stride along their rows (vector loads and stores), N a
multiple of the vector width ``lanes(dtype)``: callers pad the columns with zeros
(``product`` does, through copies; the epoch keeps its own buffers padded).
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


class Vectors:
    """LLVM IR for vectors of ``bits`` of one float dtype, inside one codegen: fused
    multiply-adds, broadcasts, and loads and stores at integer addresses."""

    def __init__(self, context, builder, dtype, bits: int):
        self.builder, self.scalar = builder, context.get_value_type(dtype)
        self.size = 4 if dtype == types.float32 else 8          # bytes per element
        self.width = bits // (8 * self.size)
        self.vec = ir.VectorType(self.scalar, self.width)
        self.zero = ir.Constant(self.vec, None)
        self._fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(self.vec, [self.vec] * 3),
            f"llvm.fma.v{self.width}f{8 * self.size}")

    def fma(self, a, b, c):
        """a * b + c, rounded once."""
        return self.builder.call(self._fma, [a, b, c])

    def splat(self, x):
        undef = ir.Constant(self.vec, ir.Undefined)
        first = self.builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
        return self.builder.shuffle_vector(first, undef, ir.Constant(ir.VectorType(ir.IntType(32), self.width), None))

    def pointer(self, address):
        return self.builder.inttoptr(address, ir.PointerType())

    def load(self, address, vector: bool = True):
        return self.builder.load(self.pointer(address), typ=self.vec if vector else self.scalar,
                                 align=self.size)

    def store(self, value, address):
        self.builder.store(value, self.pointer(address), align=self.size)


def _tile(mr: int, nv: int, bits: int, prefetch: bool = False):
    """The intrinsic ``tile(A, B, C, i0, j0, rows, nvec, alpha, beta)``: rows i0 to
    i0 + rows (rows <= mr) and columns j0 to j0 + nvec * lanes (nvec <= nv) of
    ``C = alpha A B + beta C`` (beta == 0: C is not read, as BLAS). Rows past ``rows``
    are computed on a copy of the last row and not stored, so one code path serves
    every row count; ``nvec`` selects one of nv compiled variants. ``prefetch``: the
    next tile's rows of A are fetched into the cache while this one computes, so that
    an A streaming from memory (x in the forward product) arrives ahead of its use."""

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
            V, intp = Vectors(context, builder, dtype, bits), context.get_value_type(types.intp)
            const = lambda v: ir.Constant(intp, v)                      # noqa: E731
            (pa, (M, P), (sa0, sa1)), (pb, _, (sb0, _)), (pc, _, (sc0, _)) = (
                _unpack(context, builder, value, ty, intp) for value, ty in zip((a, b, c), arrays))

            def row_addresses(first, last):
                """Where rows first, first + 1, ... of A start, the ones past last clamped."""
                out = []
                for r in range(mr):
                    i = builder.add(first, const(r))
                    out.append(builder.add(pa, builder.mul(builder.select(
                        builder.icmp_signed("<=", i, last), i, last), sa0)))
                return out

            arows = row_addresses(i0, builder.sub(builder.add(i0, rows), const(1)))
            ahead = row_addresses(builder.add(i0, const(mr)), builder.sub(M, const(1)))
            fetch = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [ir.PointerType()] + [ir.IntType(32)] * 3),
                "llvm.prefetch.p0")
            pb = builder.add(pb, builder.mul(j0, const(V.size)))
            pc = builder.add(builder.add(pc, builder.mul(i0, sc0)), builder.mul(j0, const(V.size)))
            keep = builder.fcmp_unordered("!=", beta, ir.Constant(V.scalar, 0))   # beta != 0
            fn = builder.function
            done = fn.append_basic_block("tile.done")
            switch = builder.switch(nvec, done)
            for n in range(1, nv + 1):
                entry = fn.append_basic_block(f"tile.nv{n}")
                switch.add_case(const(n), entry)
                builder.position_at_end(entry)
                loop, stores = fn.append_basic_block(f"tile.nv{n}.loop"), fn.append_basic_block(f"tile.nv{n}.store")
                builder.cbranch(builder.icmp_signed(">", P, const(0)), loop, stores)
                # the reduction over p: acc[r][v] += A[i0 + r, p] * B[p, j0 + v * width ...]
                builder.position_at_end(loop)
                p = builder.phi(intp)
                acc = [[builder.phi(V.vec) for _ in range(n)] for _ in range(mr)]
                brow = builder.add(pb, builder.mul(p, sb0))
                bv = [V.load(builder.add(brow, const(v * V.size * V.width))) for v in range(n)]
                new = []
                for r in range(mr):
                    av = V.splat(V.load(builder.add(arows[r], builder.mul(p, sa1)), vector=False))
                    if prefetch:
                        builder.call(fetch, [V.pointer(builder.add(ahead[r], builder.mul(p, sa1)))]
                                     + [ir.Constant(ir.IntType(32), v) for v in (0, 3, 1)])  # read, keep, data
                    new.append([V.fma(av, bv[v], acc[r][v]) for v in range(n)])
                p1, end = builder.add(p, const(1)), builder.block
                p.add_incoming(const(0), entry)
                p.add_incoming(p1, end)
                for r in range(mr):
                    for v in range(n):
                        acc[r][v].add_incoming(V.zero, entry)
                        acc[r][v].add_incoming(new[r][v], end)
                builder.cbranch(builder.icmp_signed("<", p1, P), loop, stores)
                # C's rows of the tile: alpha acc, plus beta C where beta != 0
                builder.position_at_end(stores)
                sums = [[builder.phi(V.vec) for _ in range(n)] for _ in range(mr)]   # phis first
                for r in range(mr):
                    for v in range(n):
                        sums[r][v].add_incoming(V.zero, entry)
                        sums[r][v].add_incoming(new[r][v], end)
                va, vb = V.splat(alpha), V.splat(beta)
                for r in range(mr):
                    with builder.if_then(builder.icmp_signed("<", const(r), rows)):
                        crow = builder.add(pc, builder.mul(const(r), sc0))
                        for v in range(n):
                            address = builder.add(crow, const(v * V.size * V.width))
                            out = builder.fmul(va, sums[r][v])
                            with builder.if_else(keep) as (then, otherwise):
                                with then:
                                    mixed, from_then = V.fma(vb, V.load(address), out), builder.block
                                with otherwise:
                                    from_otherwise = builder.block
                            merged = builder.phi(V.vec)
                            merged.add_incoming(mixed, from_then)
                            merged.add_incoming(out, from_otherwise)
                            V.store(merged, address)
                builder.branch(done)
            builder.position_at_end(done)
            return context.get_dummy_value()

        return sig, codegen

    return tile


def _unpack(context, builder, value, ty, intp):
    """A 2-D array's data address (an integer), shape and strides (in bytes)."""
    ary = context.make_array(ty)(context, builder, value)
    return (builder.ptrtoint(ary.data, intp), cgutils.unpack_tuple(builder, ary.shape, 2),
            cgutils.unpack_tuple(builder, ary.strides, 2))


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
