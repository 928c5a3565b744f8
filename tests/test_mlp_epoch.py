"""The SGD epoch's contract in every backend: any batch size, all-or-nothing updates
(a failure part-way leaves the parameters exactly as they were), exact float64 updates,
layouts refused before any change."""

import warnings

import numpy as np
import pytest
from conftest import runnable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from kernels import mlp

BACKENDS = kernels.backends("mlp_epoch")
FAST = [b for b in BACKENDS if not kernels.registry.entry("mlp_epoch", b).slow]


def small_data(n=23, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, n)


def assert_trains_as_numpy(fn, p, X, y, batch_size, lr, tol, where=""):
    """An epoch of ``fn`` from ``p`` (lam = 1e-3, so the L2 term counts too) gives the
    loss and parameters that numpy's gives from a copy of ``p``, within ``tol``."""
    q = p.copy()
    loss = fn(p, X, y, batch_size=batch_size, lr=lr, lam=1e-3)
    reference = kernels.get("mlp_epoch", "numpy")(q, X, y, batch_size=batch_size, lr=lr, lam=1e-3)
    np.testing.assert_allclose(loss, reference, rtol=tol, err_msg=where)
    for name, a in p.arrays().items():
        np.testing.assert_allclose(
            a, q.arrays()[name], rtol=tol, atol=tol, err_msg=f"{where} {name}"
        )


def assert_same(p, before):
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before.arrays()[name], err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_size_larger_than_the_data_is_one_minibatch(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p, q = mlp.init_params(d=6, dh=4, m=3), mlp.init_params(d=6, dh=4, m=3)
    loss = fn(p, X, y, batch_size=10**8, lr=0.1)
    reference = kernels.get("mlp_epoch", "numpy")(q, X, y, batch_size=len(X), lr=0.1)
    np.testing.assert_allclose(loss, reference, rtol=1e-12)
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflowing_learning_rate_leaves_p_unchanged(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    before = p.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow is the point
        with pytest.raises(mlp.DivergenceError, match="parameters are as they were"):
            fn(p, X, y, batch_size=5, lr=1e300)
    assert_same(p, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["b2", "W1"])
def test_read_only_parameter_is_refused_before_any_update(backend, which):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    getattr(p, which).flags.writeable = False
    before = p.copy()
    with pytest.raises(ValueError, match=f"C-contiguous and writeable .*; {which} is not"):
        fn(p, X, y, batch_size=5, lr=0.1)
    assert_same(p, before)


@pytest.mark.parametrize("backend", FAST)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    row=st.integers(0, 22),
    batch_size=st.integers(1, 30),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    activation=st.sampled_from(mlp.ACTIVATIONS),
)
def test_property_a_failed_epoch_leaves_p_untouched(backend, row, batch_size, bad, activation):
    """A NaN shows in the loss of its own minibatch; an inf may not (tanh(inf) = 1) and
    poisons the update instead: either way the epoch fails and p is as before."""
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    X[row, 2] = bad
    p = mlp.init_params(d=6, dh=4, m=3, activation=activation)
    before = p.copy()
    expected = (
        f"minibatch {row // min(batch_size, 23)} " if np.isnan(bad) else "diverged|NaN or infinite"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(mlp.DivergenceError, match=expected):
            fn(p, X, y, batch_size=batch_size, lr=0.1)
    assert_same(p, before)


def test_interrupted_epoch_restores_p(monkeypatch):
    from kernels.ops.mlp import vectorized

    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    before = p.copy()
    calls = []

    def failing_update(p, g, lr):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        vectorized.update(p, g, lr)

    epoch = mlp.epoch_kernel(mlp.sgd_loop(vectorized.forward, vectorized.backward, failing_update))
    with pytest.raises(KeyboardInterrupt):
        epoch(p, X, y, batch_size=5, lr=0.1)
    assert len(calls) == 3
    assert_same(p, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_scalars_do_not_lower_a_float64_update(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p, q = mlp.init_params(d=6, dh=4, m=3), mlp.init_params(d=6, dh=4, m=3)
    fn(p, X, y, batch_size=5, lr=np.float32(0.1), lam=np.float32(0.01))
    fn(q, X, y, batch_size=5, lr=float(np.float32(0.1)), lam=float(np.float32(0.01)))
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_W1_is_refused(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=6, m=3)
    p.W1 = np.asfortranarray(p.W1)  # reassigned after construction
    before = p.W1.copy()
    with pytest.raises(ValueError, match="W1 is not"):
        fn(p, X, y, batch_size=5, lr=0.1)
    np.testing.assert_array_equal(p.W1, before)


@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_of_the_hidden_layer_trains_as_numpy_does(backend, dtype):
    """dh at, below and past whole vectors of every block's width (4 to 16 lanes): the
    numba epoch computes the last few columns apart from the others, or pads them."""
    fn = runnable("mlp_epoch", backend)
    X, y = small_data(n=250, d=20, seed=1)
    X, tol = X.astype(dtype), (1e-10 if dtype == np.float64 else 2e-4)
    for dh in (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 18, 33, 50):
        p = mlp.init_params(d=20, dh=dh, m=3, seed=dh, dtype=dtype)
        assert_trains_as_numpy(fn, p, X, y, batch_size=100, lr=0.1, tol=tol, where=f"dh = {dh}")


@pytest.mark.parametrize("backend", [b for b in FAST if b in ("numba", "numba-serial")])
@pytest.mark.parametrize("most, cached", [(0, 2**30), (64, 2**30), (64, 0)])
def test_every_tail_trains_as_numpy_does_every_way(backend, most, cached, monkeypatch):
    """The numba epoch with the ways of an autotune record (``tail_most``,
    ``cached_bytes``): every tail padded to a whole vector (0), every tail through BLAS
    (64), and x never counted as cached (0: read ahead, no tail through BLAS), in both
    dtypes."""
    from kernels.ops import blocking

    both = ("float64", "float32")
    monkeypatch.setattr(blocking, "measured_tails", lambda: dict.fromkeys(both, most))
    monkeypatch.setattr(blocking, "measured_cached", lambda: dict.fromkeys(both, cached))
    fn = runnable("mlp_epoch", backend)
    X, y = small_data(n=250, d=20, seed=1)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 2e-4)):
        for dh in (1, 3, 7, 9, 15, 18, 50):
            p = mlp.init_params(d=20, dh=dh, m=3, seed=dh, dtype=dtype)
            where = f"{dtype.__name__} dh = {dh}"
            assert_trains_as_numpy(fn, p, X.astype(dtype), y, 100, 0.1, tol, where)


@pytest.mark.parametrize("backend", FAST)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_minibatch_larger_than_the_caches_trains_as_numpy_does(backend, dtype):
    """K = 1024 rows of 784 (3-6 MiB: past any core's L2), where the numba epoch reads
    x ahead in its backward product and sends no column through BLAS."""
    fn = runnable("mlp_epoch", backend)
    X, y = small_data(n=2048, d=784, seed=2)
    X, tol = X.astype(dtype), (1e-10 if dtype == np.float64 else 2e-4)
    p = mlp.init_params(dh=50, seed=3, dtype=dtype)
    assert_trains_as_numpy(fn, p, X, y, batch_size=1024, lr=0.01, tol=tol)
