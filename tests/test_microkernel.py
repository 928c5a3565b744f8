"""The numba backends' own small matrix product (kernels/ops/microkernel.py) against
np.dot: tails in every dimension, both dtypes, transposed and strided operands,
NaN and inf as BLAS gives them, and the register-resident FMA loop of the limit."""
import numpy as np
import pytest

pytest.importorskip("numba")
from kernels.ops import fma_loop, microkernel as mk  # noqa: E402

DTYPES = (np.float64, np.float32)


def sizes(dtype):
    """1, one vector's lanes +- 1, a register block's rows +- 1, odd sizes, the MLP's."""
    w = mk.lanes(dtype)
    return sorted({1, 2, w - 1, w, w + 1, mk.MR - 1, mk.MR + 1, 13, 50, 100} - {0})


def close(C, A, B):
    """C against np.dot with the rounding a sum of P products may differ by."""
    ref = np.dot(A.astype(np.float64), B.astype(np.float64))
    eps = np.finfo(C.dtype).eps
    scale = np.dot(np.abs(A).astype(np.float64), np.abs(B).astype(np.float64))
    np.testing.assert_array_less(np.abs(C - ref), 4 * eps * (A.shape[1] + 1) * scale + 1e-300)


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_matches_np_dot_on_every_tail(dtype):
    rng = np.random.default_rng(0)
    for M in sizes(dtype):
        for N in sizes(dtype):
            for P in (1, 3, mk.lanes(dtype) + 1, 37):
                A, B = rng.standard_normal((M, P)).astype(dtype), rng.standard_normal((P, N)).astype(dtype)
                C = np.full((M, N), np.nan, dtype)
                mk.product(A, B, C)
                close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_takes_transposed_and_strided_operands(dtype):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((300, 400)).astype(dtype)
    cases = [(big[:100, :784].T[:50].T[:, :], big[:50, :60]),     # A (100, 50) F-ordered view
             (big[::2, ::3][:45, :70], big[1::3, 5::2][:70, :33]),  # strided both ways
             (big[:70, :20].T, big[:70, :40]),                       # A = x^T as in bprop
             (big[:20, :70], big[:40, :70].T)]                       # B = W1^T as in fprop
    for A, B in cases:
        C = np.empty((A.shape[0], B.shape[1]), dtype)
        mk.product(A, B, C)
        close(C, A, B)
        C = np.empty((B.shape[1], A.shape[0]), dtype).T               # a strided output
        mk.product(A, B, C)
        close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_scales_and_accumulates_and_ignores_c_when_beta_is_zero(dtype):
    rng = np.random.default_rng(2)
    w = mk.lanes(dtype)
    A, B = rng.standard_normal((23, 31)).astype(dtype), rng.standard_normal((31, 5 * w)).astype(dtype)
    C0 = rng.standard_normal((23, 5 * w)).astype(dtype)
    C = C0.copy()
    mk.gemm(A, B, C, dtype(-0.5), dtype(2.0))
    np.testing.assert_allclose(C, 2 * C0 - 0.5 * (A.astype(np.float64) @ B), rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)
    C = np.full_like(C0, np.nan)                                     # beta = 0: C is not read
    mk.gemm(A, B, C, dtype(1.0), dtype(0.0))
    close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_propagate_as_in_blas(dtype):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((17, 9)).astype(dtype), rng.standard_normal((9, 21)).astype(dtype)
    A[2, 4], A[5, 0], B[3, 7], B[6, 11] = np.nan, np.inf, -np.inf, np.inf
    A[9, 6] = 0.0                                                     # inf * 0 -> NaN
    B[6, :] = np.inf
    C = np.empty((17, 21), dtype)
    mk.product(A, B, C)
    with np.errstate(invalid="ignore"):
        ref = np.dot(A, B)
    np.testing.assert_array_equal(np.isnan(C), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(C), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(C), np.isneginf(ref))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fma_loop_runs_every_step_of_every_chain(dtype):
    """Each chain runs c = c x + x n times from c = x: the sum over chains and lanes
    is known, so a loop that skipped or merged steps would give another figure."""
    x, n = 0.5, 7
    c = x
    for _ in range(n):
        c = c * x + x
    chains = fma_loop.fma_flop(dtype, 1) // 2
    assert fma_loop.fma_loop(dtype(x), n) == pytest.approx(chains * c, rel=1e-6)
    assert fma_loop.fma_flop(dtype, 10) == 10 * fma_loop.fma_flop(dtype, 1)


@pytest.mark.parametrize("cpu, features, registers", [
    ("znver4", "+avx512f,+avx2,+fma", 32), ("sapphirerapids", "+avx512f,+avx2,+fma", 32),
    ("znver3", "-avx512f,+avx2,+fma", 16), ("x86-64", "+sse2", 16)])
def test_the_register_block_fits_the_register_file(cpu, features, registers):
    rows, vectors, bits = mk.block(cpu, features)
    assert rows * vectors + vectors + 1 <= registers     # accumulators, B's row, a broadcast
    assert rows * vectors >= 8                           # enough chains to hide FMA latency
    assert bits in (128, 256, 512)
