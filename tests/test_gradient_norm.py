"""gradient_norm: every backend against numpy.gradient and against each other."""

import numpy as np
import pytest
from conftest import backend_params, pair_params, runnable, tol
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

K = "gradient_norm"


def oracle(u):
    """docs/design.md, section 2.1, through numpy.gradient (edge_order=1, unit spacing)."""
    u = np.asarray(u)
    axes = (u.ndim - 2, u.ndim - 1)
    return sum(np.square(d) for d in np.gradient(u, axis=axes))


@pytest.fixture(scope="module")
def images(train):
    X, _ = train
    return X[:300].reshape(-1, 28, 28)  # three real minibatches


@backend_params(K)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_real_images_match_numpy_gradient(backend, dtype, images):
    fn = runnable(K, backend)
    u = images[:100].astype(dtype)
    g = fn(u)
    assert g.shape == u.shape and g.dtype == dtype
    np.testing.assert_allclose(g, oracle(u), **tol(dtype))


@pair_params(K)
def test_backends_agree_pairwise(first, second, images):
    u = images[:100]
    np.testing.assert_allclose(
        runnable(K, first)(u), runnable(K, second)(u), rtol=1e-10, atol=1e-12
    )


@backend_params(K)
def test_edges_are_one_sided_and_interior_central(backend):
    # u = i**2 + 3 j: d/drow is 2i inside, one-sided 1 and 2(H-1)-1 at the edges
    h, w = 5, 4
    i, j = np.mgrid[0:h, 0:w].astype(float)
    u = i**2 + 3 * j
    d_row = np.where(i == 0, 1.0, np.where(i == h - 1, 2 * (h - 1) - 1.0, 2 * i))
    expected = d_row**2 + 9.0
    np.testing.assert_allclose(runnable(K, backend)(u), expected, rtol=1e-12)


@backend_params(K)
def test_shapes_views_and_dtypes(backend, images):
    fn = runnable(K, backend)
    u = images[:12]
    single = fn(u[3])  # one (H, W) image
    assert single.shape == (28, 28)
    np.testing.assert_allclose(single, oracle(u[3]), **tol(np.float64))
    view = u[::2, ::-1, 1::2]  # non-contiguous, reversed view
    np.testing.assert_allclose(fn(view), oracle(view), **tol(np.float64))
    assert fn(np.empty((0, 28, 28))).shape == (0, 28, 28)
    ints = (u[:5] * 255).astype(np.uint8)  # integers computed in float64
    out = fn(ints)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, oracle(ints), **tol(np.float64))
    tiny = np.arange(4.0).reshape(1, 2, 2)  # smallest legal image
    np.testing.assert_allclose(fn(tiny), oracle(tiny), **tol(np.float64))
    assert fn(images[:1]).shape == (1, 28, 28)  # K = 1


@backend_params(K)
@pytest.mark.parametrize(
    "bad,error,message",
    [
        (np.zeros((3, 1, 5)), ValueError, "H >= 2 and W >= 2"),
        (np.zeros((3, 5, 1)), ValueError, "H >= 2 and W >= 2"),
        (np.zeros(5), ValueError, r"\(N, H, W\) or one image \(H, W\)"),
        (np.zeros((2, 2, 3, 3)), ValueError, r"\(N, H, W\) or one image \(H, W\)"),
        (np.zeros((2, 3, 3), complex), TypeError, "float32, float64 or an integer"),
        (np.zeros((2, 3, 3), bool), TypeError, "float32, float64 or an integer"),
        (np.zeros((2, 3, 3), object), TypeError, "float32, float64 or an integer"),
        ([["a", "b"], ["c", "d"]], TypeError, "float32, float64 or an integer"),
    ],
)
def test_bad_input_is_refused(backend, bad, error, message):
    with pytest.raises(error, match=message):
        runnable(K, backend)(bad)


@backend_params(K)
@settings(max_examples=25, deadline=None)
@given(
    u=st.integers(0, 4).flatmap(
        lambda n: st.tuples(st.integers(2, 9), st.integers(2, 9)).flatmap(
            lambda hw: arrays(np.float64, (n, *hw), elements=st.floats(-1e6, 1e6))
        )
    )
)
def test_property_matches_oracle_on_any_shape(backend, u):
    np.testing.assert_allclose(runnable(K, backend)(u), oracle(u), rtol=1e-10, atol=1e-6)
