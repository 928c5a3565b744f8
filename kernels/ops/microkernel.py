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
``gemm`` and ``product`` check all of this, from Python; the compiled ``_gemm``,
``_gemm_rows`` and ``_product`` that the epoch calls check nothing.
"""

from __future__ import annotations

import numba
import numpy as np

from . import blocking, numba_cache
from . import tile as _tile_ir
from .tile import make_tile

# the register blocks, one per dtype, fixed at import: every compiled routine below and
# its callers are compiled for them, so they key their cached code (as does the tile's
# source). In compiled code the dtype's itemsize is a constant: each routine keeps only
# its own dtype's branch.
BLOCKS, BLOCK_FROM = blocking.chosen()
BLOCK = tuple(sorted(BLOCKS.items()))
(MR64, NV64, BITS64), (MR32, NV32, BITS32) = BLOCKS["float64"], BLOCKS["float32"]
numba_cache.track(__file__, _tile_ir, key=BLOCK)
tile64, ahead64 = make_tile(MR64, NV64, BITS64), make_tile(MR64, NV64, BITS64, prefetch=True)
tile32, ahead32 = make_tile(MR32, NV32, BITS32), make_tile(MR32, NV32, BITS32, prefetch=True)


def lanes(dtype) -> int:
    """Elements of ``dtype`` in one vector of its block."""
    dtype = np.dtype(dtype)
    return BLOCKS[dtype.name][2] // (8 * dtype.itemsize)


@numba.njit(cache=True, inline="always")
def lanes_of(a):
    """lanes(a.dtype), in compiled code."""
    return BITS32 // 32 if a.itemsize == 4 else BITS64 // 64


@numba.njit(cache=True)
def zeros_lined(rows, cols, like):
    """np.zeros((rows, cols), like.dtype), its data starting on a 64-byte cache line.
    numba aligns arrays to 32 bytes: a 512-bit vector load or store at 32 bytes past a
    line touches two lines, and the tile reads B and writes C only in whole vectors
    (aligned, the epoch's products ran 16-22 % faster on the Xeon, docs/design.md 7.1).
    """
    n, pad = rows * cols, 64 // like.itemsize
    raw = np.zeros(n + pad, like.dtype)
    skip = ((-raw.ctypes.data) % 64) // like.itemsize
    return raw[skip : skip + n].reshape((rows, cols))


@numba.njit(cache=True, inline="always")
def _rows_of(C):
    """MR of C's dtype."""
    return MR32 if C.itemsize == 4 else MR64


@numba.njit(cache=True, inline="always")
def _tile(A, B, C, i0, j0, rows, nvec, alpha, beta, ahead=False):
    """The tile of C's dtype (tile.py); ``ahead``: fetching the next tile's rows of A
    meanwhile."""
    if C.itemsize == 4:
        if ahead:
            ahead32(A, B, C, i0, j0, rows, nvec, alpha, beta)
        else:
            tile32(A, B, C, i0, j0, rows, nvec, alpha, beta)
    elif ahead:
        ahead64(A, B, C, i0, j0, rows, nvec, alpha, beta)
    else:
        tile64(A, B, C, i0, j0, rows, nvec, alpha, beta)


@numba.njit(cache=True, inline="always")
def _split(C):
    """Vectors per block of columns of C: its N / width vectors in as few blocks of at
    most NV as possible, as even as possible (a last block of one vector would leave the
    FMA units waiting on its few accumulators). Returns (width, blocks, each, extra)."""
    width, most = lanes_of(C), NV32 if C.itemsize == 4 else NV64
    total = C.shape[1] // width
    if total == 0:  # no columns: nothing to compute
        return width, 0, 0, 0
    blocks = -(-total // most)
    return width, blocks, total // blocks, total % blocks


@numba.njit(cache=True)
def _gemm(A, B, C, alpha, beta):
    """C = alpha A B + beta C, unchecked (``gemm`` says what it needs): blocks of columns
    outside, row tiles inside, so that B's panel stays in the cache."""
    _gemm_blocks(A, B, C, alpha, beta, False)


@numba.njit(cache=True)
def _gemm_ahead(A, B, C, alpha, beta):
    """_gemm, each tile fetching the next one's rows of A while it computes: for an A
    that is not in the cache (x^T in the backward product of a minibatch larger than
    the L2)."""
    _gemm_blocks(A, B, C, alpha, beta, True)


@numba.njit(cache=True, inline="always")
def _gemm_blocks(A, B, C, alpha, beta, ahead):
    """_gemm's loops (``ahead`` a constant: each caller compiles one kind of tile)."""
    M, mr = C.shape[0], _rows_of(C)
    width, blocks, each, extra = _split(C)
    j0 = 0
    for b in range(blocks):
        nvec = each + (1 if b < extra else 0)
        for i0 in range(0, M, mr):
            _tile(A, B, C, i0, j0, min(mr, M - i0), nvec, alpha, beta, ahead)
        j0 += nvec * width


@numba.njit(cache=True)
def _gemm_rows(A, B, C, alpha, beta):
    """_gemm with row tiles outside: each tile of A is read once from memory (and the
    next one fetched while the first block of columns computes), for an A that
    streams from memory, as x does in the forward product."""
    M, mr = C.shape[0], _rows_of(C)
    width, blocks, each, extra = _split(C)
    if blocks == 0:
        return
    for i0 in range(0, M, mr):
        rows = min(mr, M - i0)
        _tile(A, B, C, i0, 0, rows, each + (1 if extra > 0 else 0), alpha, beta, True)
        j0 = (each + (1 if extra > 0 else 0)) * width
        for b in range(1, blocks):
            nvec = each + (1 if b < extra else 0)
            _tile(A, B, C, i0, j0, rows, nvec, alpha, beta)
            j0 += nvec * width


@numba.njit(cache=True)
def _product(A, B, C):
    """C = A B, unchecked (``product`` says what it needs): through _gemm directly where
    B and C have whole vectors of unit-stride columns, else through copies with the
    columns padded to whole vectors."""
    one, zero = C.dtype.type(1), C.dtype.type(0)
    N, width = C.shape[1], lanes_of(C)
    if N % width == 0 and B.strides[1] == B.itemsize and C.strides[1] == C.itemsize:
        _gemm(A, B, C, one, zero)
        return
    Np = -(-N // width) * width
    Bp = zeros_lined(B.shape[0], Np, C)
    Bp[:, :N] = B
    Cp = zeros_lined(C.shape[0], Np, C)
    _gemm(A, Bp, Cp, one, zero)
    C[:, :] = Cp[:, :N]


# ---- the checked entries, called from Python: shapes, dtypes and layouts as np.matmul ------


def _check(A, B, C, vectors: bool) -> None:
    """Refuse, naming it, what the compiled routines would read or write out of bounds."""
    for name, a in (("A", A), ("B", B), ("C", C)):
        if not isinstance(a, np.ndarray) or a.ndim != 2:
            raise TypeError(
                f"{name} must be a 2-D NumPy array; got {getattr(a, 'shape', type(a).__name__)}"
            )
    if not (A.dtype == B.dtype == C.dtype) or A.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"A, B and C must share one dtype, float32 or float64; got "
            f"{A.dtype}, {B.dtype} and {C.dtype}"
        )
    (M, P), (Pb, N) = A.shape, B.shape
    if Pb != P:
        raise ValueError(f"A (M, P) and B (P, N) must agree on P: A is {A.shape}, B is {B.shape}")
    if C.shape != (M, N):
        raise ValueError(
            f"C must have shape (M, N) = {(M, N)} for A {A.shape} and B {B.shape}; got {C.shape}"
        )
    if not C.flags.writeable:
        raise ValueError("C is read-only; pass a writeable output array")
    if vectors:
        w = lanes(C.dtype)
        for name, a in (("B", B), ("C", C)):
            if a.shape[1] > 1 and a.strides[1] != a.itemsize:
                raise ValueError(
                    f"{name} must have unit stride along its rows (got strides "
                    f"{a.strides}); product() takes any layout"
                )
        if N % w:
            raise ValueError(
                f"gemm needs N a multiple of {w} ({C.dtype} lanes of the "
                f"{BLOCKS[C.dtype.name][2]}-bit block); got N = {N}: product() pads the columns"
            )


def _apart(C, A, B):
    """C itself, or a copy of it where it shares memory with A or B (the tile would read
    elements of A or B that it has already overwritten)."""
    if C.size and (np.shares_memory(C, A) or np.shares_memory(C, B)):
        return C.copy()
    return C


def gemm(A, B, C, alpha, beta):
    """C = alpha A B + beta C in place; returns C. A (M, P) any strides; B (P, N) and C
    (M, N) with unit stride along their rows, N a multiple of ``lanes(dtype)``; one dtype,
    float32 or float64. beta == 0: C is not read (as BLAS). C may share memory with A or B
    (it is computed apart, then copied in). Raises TypeError or ValueError, naming the
    operand, for anything else."""
    _check(A, B, C, vectors=True)
    out = _apart(C, A, B)
    _gemm(A, B, out, C.dtype.type(alpha), C.dtype.type(beta))
    if out is not C:
        C[...] = out
    return C


def product(A, B, C):
    """C = A B in place; returns C. A (M, P), B (P, N), C (M, N) of one dtype, float32 or
    float64, any strides; C may share memory with A or B (it is computed apart, then
    copied in). Raises TypeError or ValueError, naming the operand, as np.matmul does."""
    _check(A, B, C, vectors=False)
    out = _apart(C, A, B)
    _product(A, B, out)
    if out is not C:
        C[...] = out
    return C
