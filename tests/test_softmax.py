"""softmax: every backend against scipy.special.softmax and against each other."""

import numpy as np
import pytest
import scipy.special
from conftest import backend_params, pair_params, runnable, tol
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

K = "softmax"


def oracle(z):
    return scipy.special.softmax(np.asarray(z), axis=-1)


@pytest.fixture(scope="module")
def logits(train):
    """Real logits: a seeded linear layer on real images (as in docs/design.md, section 6)."""
    X, _ = train
    rng = np.random.default_rng(0)
    W = rng.uniform(-1, 1, (10, 784)) / np.sqrt(784)
    return X[:300] @ W.T * 20.0


def adversarial(logits):
    rng = np.random.default_rng(1)
    return {
        "real": logits[:100],
        "huge": rng.uniform(-1e4, 1e4, (100, 10)),  # a global max would underflow rows
        "huge_offset": rng.normal(size=(50, 10)) + 1e4 * rng.choice([-1, 1], (50, 1)),
        "constant_rows": np.full((7, 10), 3.5),
        "one_column": rng.normal(size=(9, 1)),
        "K1": logits[:1],
        "short_last_batch": logits[:250][200:],  # the 50-row tail of a K=100 epoch
        "non_contiguous": logits[::3, ::2],
        "fortran": np.asfortranarray(logits[:20]),
        "one_row_1d": logits[5],
    }


@backend_params(K)
@pytest.mark.parametrize("case", list(adversarial(np.zeros((300, 10)))))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_scipy(backend, case, dtype, logits):
    z = adversarial(logits)[case].astype(dtype)
    p = runnable(K, backend)(z)
    assert p.shape == z.shape and p.dtype == dtype
    np.testing.assert_allclose(p, oracle(z), **tol(dtype))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=-1), 1, **tol(dtype))


@pair_params(K)
def test_backends_agree_pairwise(first, second, logits):
    for z in adversarial(logits).values():
        np.testing.assert_allclose(
            runnable(K, first)(z), runnable(K, second)(z), rtol=1e-10, atol=1e-12
        )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and inf on purpose
@backend_params(K)
def test_nan_and_inf_rows_behave_as_scipy(backend):
    inf, nan = np.inf, np.nan
    z = np.array(
        [
            [1, inf, 2],
            [1, nan, 2],
            [nan, 0, 1],
            [-inf, -inf, -inf],
            [-inf, 0, 1],
            [inf, inf, 0],
            [0, 1, 2],
        ]
    )
    with np.errstate(invalid="ignore"):
        expected = oracle(z)
    p = runnable(K, backend)(z)
    np.testing.assert_array_equal(np.isnan(p), np.isnan(expected))
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=0)


@backend_params(K)
def test_integers_and_empty(backend):
    fn = runnable(K, backend)
    p = fn(np.array([[1, 2, 3]]))
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, oracle([[1.0, 2.0, 3.0]]), rtol=1e-12)
    assert fn(np.empty((0, 10))).shape == (0, 10)


@backend_params(K)
@pytest.mark.parametrize(
    "bad,error,message",
    [
        (np.zeros((2, 3, 4)), ValueError, r"shape \(C,\) or \(N, C\)"),
        (np.float64(1.0), ValueError, r"shape \(C,\) or \(N, C\)"),
        (np.zeros((3, 0)), ValueError, "at least one class"),
        (np.zeros((2, 3), complex), TypeError, "real logits"),
        (np.zeros((2, 3), bool), TypeError, "real logits"),
        (np.array([["a"]]), TypeError, "real logits"),
        (np.zeros((2, 3), np.float16), TypeError, "real logits"),
    ],
)
def test_bad_input_is_refused(backend, bad, error, message):
    with pytest.raises(error, match=message):
        runnable(K, backend)(bad)


@backend_params(K)
@settings(max_examples=30, deadline=None)
@given(
    z=st.tuples(st.integers(1, 6), st.integers(1, 12)).flatmap(
        lambda s: arrays(np.float64, s, elements=st.floats(-1e4, 1e4))
    ),
    shift=st.floats(-100, 100),
)
def test_property_probabilities_invariant_to_row_shift(backend, z, shift):
    fn = runnable(K, backend)
    p = fn(z)
    np.testing.assert_allclose(p, oracle(z), rtol=1e-10, atol=1e-12)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(fn(z + shift), p, rtol=1e-8, atol=1e-12)


@backend_params(K)
def test_subnormal_probabilities(backend):
    """Decided (docs/design.md, section 5): every backend keeps subnormal results as
    SciPy does, except jax, whose XLA CPU code flushes them to zero (log p is then
    -inf). Both are within the tolerance; the test pins which backend does which."""
    fn = runnable(K, backend)
    z = np.array([0.0, -709.5, -720.0, -740.0])
    expected = oracle(z)
    assert (0 < expected[1:]).all() and (expected[1:] < np.finfo(np.float64).tiny).all()
    p = fn(z)
    np.testing.assert_allclose(p, expected, **tol(np.float64))
    if backend == "jax":
        assert p[3] == 0.0
    else:  # subnormals carry fewer digits: equal to a few ulps
        assert (p[1:] > 0).all()
        np.testing.assert_allclose(p[1:], expected[1:], rtol=0.05)
