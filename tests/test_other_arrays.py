"""Other libraries' arrays: the ``array-api`` backends (array code written once against
the array API standard) on array-api-strict arrays, whose library is nothing but the
standard; the ``jax`` backends on jax arrays, computed and returned where they live; and
the CPU backends refusing both clearly."""

import numpy as np
import pytest
import scipy.special
from conftest import runnable, tol

import kernels
from kernels import mlp


def small_mlp(dtype, activation="relu", dh=5):
    return mlp.init_params(dh=dh, seed=3, dtype=dtype, activation=activation)


# ---- array-api: one source for NumPy, CuPy, PyTorch; checked on array-api-strict --------


@pytest.fixture
def xp():
    return pytest.importorskip("array_api_strict")


def test_array_api_runs_on_any_standard_library(xp, train):
    u = train[0][:3].reshape(-1, 28, 28)
    got = runnable("gradient_norm", "array-api")(xp.asarray(u))
    assert type(got) is type(xp.asarray(u))  # computed in that library
    np.testing.assert_allclose(
        np.from_dlpack(got), kernels.get("gradient_norm", "numpy")(u), **tol(np.float64)
    )
    z = np.random.default_rng(4).normal(size=(7, 10)).astype(np.float32)
    got = runnable("softmax", "array-api")(xp.asarray(z))
    np.testing.assert_allclose(
        np.from_dlpack(got), scipy.special.softmax(z, axis=1), **tol(np.float32)
    )
    with pytest.raises(TypeError, match="out= takes NumPy arrays"):
        kernels.get("softmax", "array-api")(xp.asarray(z), out=np.empty_like(z))


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_array_api_mlp_on_a_standard_library_matches_numpy(xp, activation, train):
    X, y = train[0][:23], train[1][:23]
    p, q = small_mlp(np.float64, activation), small_mlp(np.float64, activation)
    fwd = runnable("mlp_fprop", "array-api")(p, xp.asarray(X[:4]), xp.asarray(y[:4]), lam=0.01)
    ref = kernels.get("mlp_fprop", "numpy")(p, X[:4], y[:4], lam=0.01)
    np.testing.assert_allclose(np.from_dlpack(fwd.os), ref.os, **tol(np.float64))
    np.testing.assert_allclose(fwd.loss, ref.loss, **tol(np.float64))
    g = kernels.get("mlp_bprop", "array-api")(
        p, xp.asarray(X[:4]), xp.asarray(y[:4]), fwd, lam=0.01
    )
    g_ref = kernels.get("mlp_bprop", "numpy")(p, X[:4], y[:4], ref, lam=0.01)
    np.testing.assert_allclose(np.from_dlpack(g.dW1), g_ref.dW1, **tol(np.float64))
    loss = kernels.get("mlp_epoch", "array-api")(
        p, xp.asarray(X), xp.asarray(y), batch_size=10, lr=0.1, lam=0.01
    )
    reference = kernels.get("mlp_epoch", "numpy")(q, X, y, batch_size=10, lr=0.1, lam=0.01)
    np.testing.assert_allclose(loss, reference, **tol(np.float64, "mlp_epoch"))
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], **tol(np.float64, "mlp_epoch"))


def test_cpu_backends_refuse_other_libraries_arrays_clearly(xp, train):
    X, y = train[0][:4], train[1][:4]
    with pytest.raises(TypeError, match="computes on NumPy arrays"):
        kernels.get("mlp_fprop", "numpy")(small_mlp(np.float64), xp.asarray(X), xp.asarray(y))


# ---- jax: the existing backend, on the device its arrays are on ------------------------


def test_jax_computes_where_its_arrays_are_and_returns_them_there(train):
    jax = pytest.importorskip("jax")
    runnable("softmax", "jax")
    with jax.enable_x64(True):
        z = jax.device_put(train[0][:5, :10])
        u = jax.device_put(train[0][:3].reshape(-1, 28, 28))
        X, y = jax.device_put(train[0][:23]), jax.device_put(train[1][:23])
    got = kernels.get("softmax", "jax")(z)
    assert isinstance(got, jax.Array) and got.dtype == np.float64
    np.testing.assert_allclose(
        np.asarray(got), scipy.special.softmax(train[0][:5, :10], axis=1), **tol(np.float64)
    )
    np.testing.assert_allclose(
        np.asarray(kernels.get("gradient_norm", "jax")(u)),
        kernels.get("gradient_norm", "numpy")(train[0][:3].reshape(-1, 28, 28)),
        **tol(np.float64),
    )
    p, q = small_mlp(np.float64), small_mlp(np.float64)
    loss = kernels.get("mlp_epoch", "jax")(p, X, y, batch_size=10, lr=0.1)
    reference = kernels.get("mlp_epoch", "numpy")(
        q, train[0][:23], train[1][:23], batch_size=10, lr=0.1
    )
    np.testing.assert_allclose(loss, reference, **tol(np.float64, "mlp_epoch"))
    np.testing.assert_allclose(p.W1, q.W1, **tol(np.float64, "mlp_epoch"))
    fwd = kernels.get("mlp_fprop", "jax")(p, X[:4], y[:4])
    assert isinstance(fwd.os, jax.Array)


def test_other_libraries_arrays_are_refused_clearly_where_a_backend_cannot_take_them(xp):
    z = xp.asarray(np.zeros((2, 3)))
    if "jax" in kernels.available("softmax"):
        with pytest.raises(TypeError, match="NumPy arrays or jax arrays"):
            kernels.get("softmax", "jax")(z)  # jax takes jax arrays, not these
    with pytest.raises(TypeError, match="float32 or float64; got dtype int64"):
        runnable("softmax", "array-api")(xp.asarray(np.zeros((2, 3), np.int64)))
    with pytest.raises(ValueError, match=r"shape \(C,\) or \(N, C\)"):
        kernels.get("softmax", "array-api")(xp.asarray(np.zeros((2, 3, 4))))
