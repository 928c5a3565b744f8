"""The numba backends' own small matrix product (kernels/ops/microkernel.py) against
np.dot: tails in every dimension, both dtypes, transposed and strided operands,
NaN and inf as BLAS gives them, and the register-resident FMA loop of the limit."""

import numpy as np
import pytest

pytest.importorskip("numba")
from kernels.ops import microkernel as mk

DTYPES = (np.float64, np.float32)


def sizes(dtype):
    """1, one vector's lanes +- 1, a register block's rows +- 1, odd sizes, the MLP's."""
    w = mk.lanes(dtype)
    mr = mk.BLOCKS[np.dtype(dtype).name][0]
    return sorted({1, 2, w - 1, w, w + 1, mr - 1, mr + 1, 13, 50, 100} - {0})


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
                A, B = (
                    rng.standard_normal((M, P)).astype(dtype),
                    rng.standard_normal((P, N)).astype(dtype),
                )
                C = np.full((M, N), np.nan, dtype)
                mk.product(A, B, C)
                close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_takes_transposed_and_strided_operands(dtype):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((300, 400)).astype(dtype)
    cases = [
        (big[:100, :784].T[:50].T[:, :], big[:50, :60]),  # A (100, 50) F-ordered view
        (big[::2, ::3][:45, :70], big[1::3, 5::2][:70, :33]),  # strided both ways
        (big[:70, :20].T, big[:70, :40]),  # A = x^T as in bprop
        (big[:20, :70], big[:40, :70].T),
    ]  # B = W1^T as in fprop
    for A, B in cases:
        C = np.empty((A.shape[0], B.shape[1]), dtype)
        mk.product(A, B, C)
        close(C, A, B)
        C = np.empty((B.shape[1], A.shape[0]), dtype).T  # a strided output
        mk.product(A, B, C)
        close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_scales_and_accumulates_and_ignores_c_when_beta_is_zero(dtype):
    rng = np.random.default_rng(2)
    w = mk.lanes(dtype)
    A, B = (
        rng.standard_normal((23, 31)).astype(dtype),
        rng.standard_normal((31, 5 * w)).astype(dtype),
    )
    C0 = rng.standard_normal((23, 5 * w)).astype(dtype)
    C = C0.copy()
    mk.gemm(A, B, C, dtype(-0.5), dtype(2.0))
    np.testing.assert_allclose(
        C,
        2 * C0 - 0.5 * (A.astype(np.float64) @ B),
        rtol=1e-4 if dtype == np.float32 else 1e-12,
        atol=1e-4 if dtype == np.float32 else 1e-12,
    )
    C = np.full_like(C0, np.nan)  # beta = 0: C is not read
    mk.gemm(A, B, C, dtype(1.0), dtype(0.0))
    close(C, A, B)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_propagate_as_in_blas(dtype):
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((17, 9)).astype(dtype), rng.standard_normal((9, 21)).astype(dtype)
    A[2, 4], A[5, 0], B[3, 7], B[6, 11] = np.nan, np.inf, -np.inf, np.inf
    A[9, 6] = 0.0  # inf * 0 -> NaN
    B[6, :] = np.inf
    C = np.empty((17, 21), dtype)
    mk.product(A, B, C)
    with np.errstate(invalid="ignore"):
        ref = np.dot(A, B)
    np.testing.assert_array_equal(np.isnan(C), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(C), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(C), np.isneginf(ref))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (784, 56), (100, 64), (0, 8), (3, 0)])
def test_zeros_lined_are_zeros_that_start_on_a_cache_line(dtype, shape):
    for _ in range(4):  # numba's own arrays start on 32 bytes: some would be off by 32
        a = mk.zeros_lined(*shape, np.empty(1, dtype))
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous
        assert a.ctypes.data % 64 == 0 and not a.any()
        a[...] = 1  # writeable, and its own memory
        assert a.all()


# ---- the checked entries: what np.matmul refuses, refused by name ------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_product_with_an_empty_dimension_gives_the_empty_result(dtype):
    for M, P, N in ((3, 4, 0), (0, 4, 3), (3, 0, 5)):
        A, B = np.ones((M, P), dtype), np.ones((P, N), dtype)
        C = np.full((M, N), np.nan, dtype)
        np.testing.assert_array_equal(mk.product(A, B, C), np.matmul(A, B))


@pytest.mark.parametrize("entry", ["product", "gemm"])
def test_shapes_dtypes_and_layouts_are_refused_by_name(entry):
    w = mk.lanes(np.float64)
    call = (
        (lambda A, B, C: mk.product(A, B, C))
        if entry == "product"
        else (lambda A, B, C: mk.gemm(A, B, C, 1.0, 0.0))
    )
    A, B, C = np.ones((4, 3)), np.ones((3, w)), np.empty((4, w))
    with pytest.raises(ValueError, match="agree on P"):
        call(np.ones((4, 3_000)), B, C)  # would read past B
    with pytest.raises(ValueError, match=r"C must have shape \(M, N\)"):
        call(A, B, np.empty((6, w)))  # more rows than A
    with pytest.raises(ValueError, match=r"C must have shape \(M, N\)"):
        call(A, B, np.empty((4, w - 1)))  # smaller than the product
    with pytest.raises(TypeError, match="one dtype"):
        call(A.astype(np.float32), B, C)
    with pytest.raises(TypeError, match="one dtype"):
        call(A.astype(np.int64), B.astype(np.int64), C.astype(np.int64))
    with pytest.raises(TypeError, match="2-D"):
        call(A[0], B, C)
    frozen = C.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        call(A, B, frozen)


def test_gemm_refuses_columns_it_cannot_load_as_vectors(tmp_path):
    w = mk.lanes(np.float64)
    with pytest.raises(ValueError, match="multiple of"):
        mk.gemm(np.ones((4, 3)), np.ones((3, w + 1)), np.empty((4, w + 1)), 1.0, 0.0)
    with pytest.raises(ValueError, match="unit stride"):
        mk.gemm(np.ones((4, 3)), np.ones((3, 2 * w))[:, ::2], np.empty((4, w)), 1.0, 0.0)
    memmap = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", shape=(4, w))
    del memmap
    readonly = np.load(tmp_path / "c.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="read-only"):
        mk.gemm(np.ones((4, 3)), np.ones((3, w)), readonly, 1.0, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [8, 16, 33])
def test_an_output_that_is_an_operand_gets_the_right_product(dtype, n):
    rng = np.random.default_rng(4)
    X, S = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    want = X.astype(np.float64) @ S
    A = X.copy()
    close(mk.product(A, S, A), X, S)  # C is A
    B = S.copy()
    close(mk.product(X, B, B), X, S)  # C is B
    w = mk.lanes(dtype)
    if n % w == 0:
        A = X.copy()
        np.testing.assert_allclose(
            mk.gemm(A, S, A, 2.0, 1.0),
            X + 2 * want,
            rtol=1e-3 if dtype == np.float32 else 1e-10,
            atol=1e-3,
        )
