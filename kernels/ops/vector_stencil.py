"""The gradient-norm feature (docs/design.md, section 2.1) of a run of images in explicit
vectors of the register block's width (``microkernel.BITS64``: measured by autotune, or
the CPU table).

The images are taken as one flat run of pixels, all of them in one vector loop: inside
it the row neighbours of pixel p are p - W and p + W and the column neighbours p - 1
and p + 1. A lane on an image's edge (its column 0 or W - 1, its row 0 or H - 1) loads
its own pixel in place of the neighbour outside the image and takes a factor 1 in place
of 1/2: the one-sided difference, from the same loads. Which lanes those are depends
only on where the vector starts in its image and in its row; ``edge_tables`` holds the
masks for every start near an edge, one row-start and one column-start counter pick
them, and a vector with no lane on an edge (most) loads its neighbours plainly. So the
output is written once, in order, in aligned whole vectors after a masked head, which
lets the stores be non-temporal where the output streams: per image, or with the edges
redone one pixel at a time, its lines were written twice or in pieces, and
non-temporal stores lost (docs/results). The arithmetic is the scalar definition's,
operation for operation (no fused multiply-adds; times 1 is exact), so the result is
bit for bit the same. Imported only by the numba backends.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import microkernel, numba_cache, tile
from .microkernel import BITS64
from .tile import Vectors

# the vectors are the block's: code compiled here for one block is kept apart from another's
numba_cache.track(__file__, tile, key=microkernel.BLOCK)

# bytes ahead of each vector that its input is fetched: past the hardware prefetcher,
# which stops at 4 KiB pages (the decoded training set is a file mapping, 4 KiB pages:
# a streaming epoch 5-10 % faster on the Intel Xeon, docs/results)
AHEAD = 512


def _kept(period: int, near: int) -> np.ndarray:
    """The starts in an image (0 <= x < period) that the rows table keeps: all of them
    where period <= 2 near + 1; else the ``near`` after an image's start, the ``near``
    before its end and one start far from both (the last entry), which every other start
    shares: a vector starting there lies on no first or last row."""
    if period <= 2 * near + 1:
        return np.arange(period)
    return np.concatenate([np.arange(near), np.arange(period - near, period), [near]])


@functools.lru_cache(maxsize=32)
def edge_tables(h: int, w: int, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """The edge masks of a vector of ``lanes`` pixels of h x w images, by where it
    starts: ``rows[i]`` for the i-th start in its image that ``_kept(h * w, w + lanes)``
    keeps, ``cols[c]`` for the start c in its row (0 <= c < w). Each is three masks, bit
    j for lane j: the lanes whose neighbour above (rows) or to the left (cols) is in the
    image, those whose neighbour below or to the right is, and those on a first or last
    row (column). uint8 up to 8 lanes, else uint16."""
    dtype = mask_dtype(lanes)
    bit = 1 << np.arange(lanes, dtype=np.int64)

    def masks(starts, period, first, last):
        at = (starts[:, None] + np.arange(lanes)[None, :]) % period
        kinds = (~first(at), ~last(at), first(at) | last(at))
        return np.stack([(m * bit).sum(1) for m in kinds], 1).astype(dtype)

    hw = h * w
    rows = masks(_kept(hw, w + lanes), hw, lambda q: q < w, lambda q: q >= hw - w)
    cols = masks(np.arange(w), w, lambda q: q == 0, lambda q: q == w - 1)
    return rows, cols


def tables(h: int, w: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``edge_tables`` for h x w images of ``dtype`` in the vectors of ``images_ordinary``
    and ``images_streamed`` (``BITS64``, whatever the dtype)."""
    return edge_tables(h, w, BITS64 // (8 * np.dtype(dtype).itemsize))


def mask_dtype(lanes: int):
    """The integers of ``edge_tables`` for vectors of ``lanes``."""
    return np.uint8 if lanes <= 8 else np.uint16


def make_images(bits: int, nontemporal: bool = False):
    """The intrinsic ``images(f, o, first, count, h, w, half, rows, cols)``: the gradient
    norm of pixels first to first + count of the images (h x w each, h, w >= 2) that lie
    one after another in f (1-D, contiguous), into the same places of o (1-D,
    contiguous, f's float dtype; half is 0.5 in it); first and count whole images; rows
    and cols are ``edge_tables(h, w, lanes)``. Vectors of ``bits``, the first and last
    masked, so that nothing outside the run is read or written; the vectors between
    them stored on boundaries of their size where o is aligned to its element size.
    ``nontemporal``: those stored past the caches (o must be aligned to its element
    size, and a fence must follow before the output is read)."""

    @intrinsic
    def images(typingctx, f, o, first, count, h, w, half, rows, cols):
        if not all(isinstance(x, types.Array) and x.ndim == 1 for x in (f, o)):
            return None
        if f.dtype not in (types.float32, types.float64) or o.dtype != f.dtype:
            return None
        lanes = bits // f.dtype.bitwidth
        table = numba.from_dtype(np.dtype(mask_dtype(lanes)))
        if not all(
            isinstance(t, types.Array) and t.ndim == 2 and t.dtype == table for t in (rows, cols)
        ):
            return None
        intp = types.intp
        sig = types.void(f, o, intp, intp, intp, intp, f.dtype, rows, cols)

        def codegen(context, builder, signature, args):
            _, _, first, count, h, w, half, _, _ = args
            V = Vectors(context, builder, f.dtype, bits)
            n, size, ity = V.width, V.size, context.get_value_type(intp)
            const = lambda v: ir.Constant(ity, v)  # noqa: E731
            arrays = [
                context.make_array(signature.args[k])(context, builder, args[k])
                for k in (0, 1, 7, 8)
            ]
            pf, po, pr, pc = (builder.ptrtoint(a.data, ity) for a in arrays)
            kept = builder.extract_value(arrays[2].shape, 0)  # starts in the rows table
            mask_type = ir.IntType(8 * np.dtype(mask_dtype(n)).itemsize)
            vh, one = V.splat(half), V.splat(builder.fadd(half, half))
            hw, wide = builder.mul(h, w), builder.mul(w, const(size))
            # the rows table's starts: all, or ``near`` after and before each image's
            # edge and one far from both (``_kept``)
            folded = builder.icmp_signed("<", kept, hw)
            near = builder.sdiv(builder.sub(kept, const(1)), const(2))
            late = builder.sub(hw, near)  # the first start of the near ones before the end

            def row_entry(pos):
                """The rows table's entry for a vector starting at pos in its image."""
                shifted = builder.add(builder.sub(pos, late), near)
                far = builder.sub(kept, const(1))
                entry = builder.select(builder.icmp_signed(">=", pos, late), shifted, far)
                entry = builder.select(builder.icmp_signed("<", pos, near), pos, entry)
                return builder.select(folded, entry, pos)

            def masks(base, entry):
                out = []
                for k in range(3):
                    index = builder.add(builder.mul(entry, const(3)), const(k))
                    offset = builder.mul(index, const(mask_type.width // 8))
                    m = builder.load(
                        builder.inttoptr(builder.add(base, offset), ir.PointerType()), typ=mask_type
                    )
                    if n < mask_type.width:
                        m = builder.trunc(m, ir.IntType(n))
                    out.append(builder.bitcast(m, ir.VectorType(ir.IntType(1), n)))
                return out

            def rows_apart(at, pos, centre, valid):
                """d_row of a vector that may lie on a first or last row."""
                above, below, edge = masks(pr, row_entry(pos))
                if valid is not None:
                    above, below = (builder.and_(m, valid) for m in (above, below))
                up = V.load_masked(builder.sub(at, wide), above, centre)
                down = V.load_masked(builder.add(at, wide), below, centre)
                return builder.fmul(builder.fsub(down, up), builder.select(edge, one, vh))

            def cols_apart(at, col, centre, valid):
                """d_col of a vector that may hold an image's first or last column."""
                left, right, edge = masks(pc, col)
                if valid is not None:
                    left, right = (builder.and_(m, valid) for m in (left, right))
                lo = V.load_masked(builder.sub(at, const(size)), left, centre)
                hi = V.load_masked(builder.add(at, const(size)), right, centre)
                return builder.fmul(builder.fsub(hi, lo), builder.select(edge, one, vh))

            def either(inside, plain, apart):
                """plain() where ``inside`` (no lane on an edge), else apart()."""
                with builder.if_else(inside) as (then, otherwise):
                    with then:
                        value, from_plain = plain(), builder.block
                    with otherwise:
                        other, from_apart = apart(), builder.block
                merged = builder.phi(V.vec)
                merged.add_incoming(value, from_plain)
                merged.add_incoming(other, from_apart)
                return merged

            def between(x, low, high):
                return builder.and_(
                    builder.icmp_signed(">=", x, low), builder.icmp_signed("<", x, high)
                )

            def difference(at, offset):
                """(f[p + offset] - f[p - offset]) / 2, plain loads."""
                plus, minus = V.load(builder.add(at, offset)), V.load(builder.sub(at, offset))
                return builder.fmul(builder.fsub(plus, minus), vh)

            def vector(p, pos, col, valid):
                """Pixels p to p + n of the run, p at pos in its image and col in its
                row (valid: which of them; None: all)."""
                at = builder.add(pf, builder.mul(p, const(size)))
                if valid is None:
                    V.prefetch(builder.add(at, const(AHEAD)))
                centre = V.load(at) if valid is None else V.load_masked(at, valid)
                if valid is not None:
                    d_col = cols_apart(at, col, centre, valid)
                    d_row = rows_apart(at, pos, centre, valid)
                else:  # most vectors hold no edge column, and lie on no first or last row
                    d_col = either(
                        between(col, const(1), builder.sub(w, const(n))),
                        lambda: difference(at, const(size)),
                        lambda: cols_apart(at, col, centre, None),
                    )
                    d_row = either(
                        builder.and_(folded, between(pos, near, late)),
                        lambda: difference(at, wide),
                        lambda: rows_apart(at, pos, centre, None),
                    )
                g = builder.fadd(builder.fmul(d_row, d_row), builder.fmul(d_col, d_col))
                target = builder.add(po, builder.mul(p, const(size)))
                if valid is None:
                    V.store(g, target, nontemporal)
                else:
                    V.store_masked(g, target, valid)

            def part(p, k):
                """The k < n pixels from p, masked."""
                with builder.if_then(builder.icmp_signed(">", k, const(0))):
                    vector(p, builder.srem(p, hw), builder.srem(p, w), V.below(k))

            # a masked head up to o's next boundary of a vector (a line, at 512 bits), where
            # o is aligned to its element size: the whole vectors after it are aligned
            address, line = builder.add(po, builder.mul(first, const(size))), const(n * size)
            gap = builder.urem(builder.sub(line, builder.urem(address, line)), line)
            aligned = builder.icmp_unsigned("==", builder.urem(address, const(size)), const(0))
            head = builder.select(aligned, builder.udiv(gap, const(size)), const(0))
            head = builder.select(builder.icmp_signed("<", head, count), head, count)
            part(first, head)
            start = builder.add(first, head)
            whole = builder.sdiv(builder.sub(count, head), const(n))
            # where each vector starts in its image and its row: n further on each time
            steps = [builder.srem(const(n), period) for period in (hw, w)]
            entry, starts = builder.block, [builder.srem(start, hw), builder.srem(start, w)]
            loop, done = (builder.append_basic_block(x) for x in ("images.loop", "images.done"))
            builder.cbranch(builder.icmp_signed(">", whole, const(0)), loop, done)
            builder.position_at_end(loop)
            i, pos, col = (builder.phi(ity) for _ in range(3))
            vector(builder.add(start, builder.mul(i, const(n))), pos, col, None)
            after = [builder.add(i, const(1))]
            for x, step, period in ((pos, steps[0], hw), (col, steps[1], w)):
                y = builder.add(x, step)
                wrap = builder.icmp_signed(">=", y, period)
                after.append(builder.select(wrap, builder.sub(y, period), y))
            for phi, begin, then in zip((i, pos, col), (const(0), *starts), after):
                phi.add_incoming(begin, entry)
                phi.add_incoming(then, builder.block)
            builder.cbranch(builder.icmp_signed("<", after[0], whole), loop, done)
            builder.position_at_end(done)
            tail = builder.add(start, builder.mul(whole, const(n)))
            part(tail, builder.sub(builder.add(first, count), tail))
            return context.get_dummy_value()

        return sig, codegen

    return images


images_ordinary, images_streamed = make_images(BITS64), make_images(BITS64, nontemporal=True)
