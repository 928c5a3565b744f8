"""out= on the array kernels, every backend: NumPy's ufunc convention (shape and dtype
checked, filled, returned; a strided or overlapping out works)."""

import numpy as np
import pytest
import scipy.special
from conftest import runnable, tol

import kernels

ORACLES = {
    "gradient_norm": lambda u: sum(
        np.square(d) for d in np.gradient(u, axis=(u.ndim - 2, u.ndim - 1))
    ),
    "softmax": lambda z: scipy.special.softmax(z, axis=-1),
}
SHAPES = {"gradient_norm": (7, 5, 6), "softmax": (7, 10)}
CASES = [(k, b) for k in ORACLES for b in kernels.backends(k)]


def data(kernel, dtype=np.float64):
    return np.random.default_rng(2).normal(size=SHAPES[kernel]).astype(dtype)


@pytest.mark.parametrize("kernel,backend", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_out_is_filled_and_returned(kernel, backend, dtype):
    fn = runnable(kernel, backend)
    x = data(kernel, dtype)
    out = np.full_like(x, np.nan)
    assert fn(x, out=out) is out
    np.testing.assert_allclose(out, ORACLES[kernel](x), **tol(dtype))
    single = np.empty_like(x[0])  # one image / one row
    assert fn(x[0], out=single) is single
    np.testing.assert_allclose(single, ORACLES[kernel](x[0]), **tol(dtype))


@pytest.mark.parametrize("kernel,backend", CASES)
def test_strided_and_overlapping_out(kernel, backend):
    fn = runnable(kernel, backend)
    x = data(kernel)
    expected = ORACLES[kernel](x)
    big = np.zeros((2 * len(x), *x.shape[1:]))
    strided = big[::2]  # not C-contiguous
    assert fn(x, out=strided) is strided
    np.testing.assert_allclose(big[::2], expected, **tol(np.float64))
    assert not big[1::2].any()  # nothing written between
    inplace = x.copy()
    assert fn(inplace, out=inplace) is inplace  # input and output the same memory
    np.testing.assert_allclose(inplace, expected, **tol(np.float64))


@pytest.mark.parametrize("kernel,backend", CASES)
def test_bad_out_is_refused_before_any_write(kernel, backend):
    fn = runnable(kernel, backend)
    x = data(kernel)
    for out, error, message in [
        (np.zeros((1, *x.shape[1:])), ValueError, "out must have shape"),
        (np.zeros(x.shape, np.float32), TypeError, "dtype float64"),
        (np.zeros(x.shape, np.int64), TypeError, "dtype float64"),  # NumPy: a casting TypeError
        ((np.zeros_like(x), np.zeros_like(x)), ValueError, "exactly one array"),
        (x.tolist(), TypeError, "out must be a NumPy array"),
    ]:
        with pytest.raises(error, match=message):
            fn(x, out=out)
    frozen = np.zeros_like(x)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fn(x, out=frozen)
    assert not frozen.any()


@pytest.mark.parametrize("kernel,backend", CASES)
def test_out_as_a_one_element_tuple_and_big_endian_data(kernel, backend):
    """NumPy's conventions: out=(array,) is the array; big-endian floats are taken, in
    and out, and give the native result."""
    fn = runnable(kernel, backend)
    x = data(kernel)
    expected = ORACLES[kernel](x)
    out = np.empty_like(x)
    assert fn(x, out=(out,)) is out
    np.testing.assert_allclose(out, expected, **tol(np.float64))
    for dtype in (">f8", ">f4"):
        big = x.astype(dtype)
        native = np.dtype(dtype).newbyteorder("=")
        result = fn(big)
        assert result.dtype == native
        np.testing.assert_allclose(result, ORACLES[kernel](big.astype(native)), **tol(native))
        big_out = np.zeros(x.shape, dtype)
        assert fn(big, out=big_out) is big_out
        np.testing.assert_allclose(big_out, result, **tol(native))
