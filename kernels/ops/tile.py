"""The register tile of the microkernel (microkernel.py) in LLVM IR: vectors of one float
dtype, fused multiply-adds, and the intrinsic that keeps an MR x NV block of C in vector
registers while the reduction streams A and B. Written through llvmlite because LLVM's
loop vectorizer does not find this at the MLP's shapes. Imported only with numba."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


class Vectors:
    """LLVM IR for vectors of ``bits`` of one float dtype, inside one codegen: fused
    multiply-adds, broadcasts, and loads and stores at integer addresses, whole or
    masked."""

    def __init__(self, context, builder, dtype, bits: int):
        self.builder, self.scalar = builder, context.get_value_type(dtype)
        self.size = 4 if dtype == types.float32 else 8  # bytes per element
        self.width = bits // (8 * self.size)
        self.vec = ir.VectorType(self.scalar, self.width)
        self.zero = ir.Constant(self.vec, None)
        self._fma = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(self.vec, [self.vec] * 3),
            f"llvm.fma.v{self.width}f{8 * self.size}",
        )

    def fma(self, a, b, c):
        """a * b + c, rounded once."""
        return self.builder.call(self._fma, [a, b, c])

    def splat(self, x):
        """x in every lane (a float of the dtype, or an integer: a vector of that type)."""
        kind = self.vec if x.type == self.scalar else ir.VectorType(x.type, self.width)
        undef = ir.Constant(kind, ir.Undefined)
        first = self.builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
        return self.builder.shuffle_vector(
            first, undef, ir.Constant(ir.VectorType(ir.IntType(32), self.width), None)
        )

    def below(self, count):
        """The mask of the lanes below ``count`` (an integer)."""
        lanes = ir.Constant(ir.VectorType(count.type, self.width), list(range(self.width)))
        return self.builder.icmp_signed("<", lanes, self.splat(count))

    def pointer(self, address):
        return self.builder.inttoptr(address, ir.PointerType())

    def load(self, address, vector: bool = True):
        return self.builder.load(
            self.pointer(address), typ=self.vec if vector else self.scalar, align=self.size
        )

    def store(self, value, address, nontemporal: bool = False):
        """``nontemporal``: straight to memory past the caches (x86: MOVNTPS/PD), which
        needs ``address`` on a boundary of the vector's own size."""
        align = self.width * self.size if nontemporal else self.size
        store = self.builder.store(value, self.pointer(address), align=align)
        if nontemporal:
            mark = ir.Constant(ir.IntType(32), 1)
            store.set_metadata("nontemporal", self.builder.module.add_metadata([mark]))

    def prefetch(self, address):
        """Fetch the line at ``address`` into the cache ahead of its use."""
        fetch = cgutils.get_or_insert_function(
            self.builder.module,
            ir.FunctionType(ir.VoidType(), [ir.PointerType()] + [ir.IntType(32)] * 3),
            "llvm.prefetch.p0",
        )
        flags = [ir.Constant(ir.IntType(32), v) for v in (0, 3, 1)]  # read, keep, data
        self.builder.call(fetch, [self.pointer(address), *flags])

    def _masked(self, what: str, result, arguments):
        mask = ir.VectorType(ir.IntType(1), self.width)
        kinds = {"load": [ir.PointerType(), ir.IntType(32), mask, self.vec]}
        kinds["store"] = [self.vec, ir.PointerType(), ir.IntType(32), mask]
        fn = cgutils.get_or_insert_function(
            self.builder.module,
            ir.FunctionType(result, kinds[what]),
            f"llvm.masked.{what}.v{self.width}f{8 * self.size}.p0",
        )
        return self.builder.call(fn, arguments)

    def load_masked(self, address, mask, other=None):
        """The lanes of ``mask`` loaded, the others those of ``other`` (default 0): nothing
        outside them is read."""
        align = ir.Constant(ir.IntType(32), self.size)
        other = self.zero if other is None else other
        return self._masked("load", self.vec, [self.pointer(address), align, mask, other])

    def store_masked(self, value, address, mask):
        """The lanes of ``mask`` stored: nothing outside them is written."""
        align = ir.Constant(ir.IntType(32), self.size)
        self._masked("store", ir.VoidType(), [value, self.pointer(address), align, mask])


def make_tile(mr: int, nv: int, bits: int, prefetch: bool = False):
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
            const = lambda v: ir.Constant(intp, v)  # noqa: E731
            (pa, (M, P), (sa0, sa1)), (pb, _, (sb0, _)), (pc, _, (sc0, _)) = (
                _unpack(context, builder, value, ty, intp) for value, ty in zip((a, b, c), arrays)
            )

            def row_addresses(first, last):
                """Where rows first, first + 1, ... of A start, the ones past last clamped."""
                out = []
                for r in range(mr):
                    i = builder.add(first, const(r))
                    out.append(
                        builder.add(
                            pa,
                            builder.mul(
                                builder.select(builder.icmp_signed("<=", i, last), i, last), sa0
                            ),
                        )
                    )
                return out

            arows = row_addresses(i0, builder.sub(builder.add(i0, rows), const(1)))
            ahead = row_addresses(builder.add(i0, const(mr)), builder.sub(M, const(1)))
            pb = builder.add(pb, builder.mul(j0, const(V.size)))
            pc = builder.add(builder.add(pc, builder.mul(i0, sc0)), builder.mul(j0, const(V.size)))
            keep = builder.fcmp_unordered("!=", beta, ir.Constant(V.scalar, 0))  # beta != 0
            fn = builder.function
            done = fn.append_basic_block("tile.done")
            switch = builder.switch(nvec, done)
            for n in range(1, nv + 1):
                entry = fn.append_basic_block(f"tile.nv{n}")
                switch.add_case(const(n), entry)
                builder.position_at_end(entry)
                loop, stores = (
                    fn.append_basic_block(f"tile.nv{n}.loop"),
                    fn.append_basic_block(f"tile.nv{n}.store"),
                )
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
                        V.prefetch(builder.add(ahead[r], builder.mul(p, sa1)))
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
                sums = [[builder.phi(V.vec) for _ in range(n)] for _ in range(mr)]  # phis first
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
                                    mixed, from_then = (
                                        V.fma(vb, V.load(address), out),
                                        builder.block,
                                    )
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
    return (
        builder.ptrtoint(ary.data, intp),
        cgutils.unpack_tuple(builder, ary.shape, 2),
        cgutils.unpack_tuple(builder, ary.strides, 2),
    )
