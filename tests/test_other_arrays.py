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


@pytest.mark.parametrize("kernel,shape", [("gradient_norm", (2, 3, 3)), ("softmax", (2, 3))])
def test_masked_arrays_are_refused(kernel, shape):
    masked = np.ma.masked_array(np.zeros(shape), mask=np.zeros(shape, bool))
    for backend in kernels.available(kernel):
        with pytest.raises(TypeError, match="masked arrays"):
            kernels.get(kernel, backend)(masked)


@pytest.mark.parametrize("kernel, shape", [("softmax", (3, 10)), ("gradient_norm", (2, 28, 28))])
def test_cpu_backends_refuse_other_libraries_arrays_naming_those_that_take_them(kernel, shape):
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray(np.zeros(shape))
    cpu_only = [
        b
        for b in kernels.available(kernel)
        if b not in ("array-api", "jax") and kernels.registry.entry(kernel, b).cpu
    ]
    assert cpu_only
    for backend in cpu_only:
        with pytest.raises(TypeError, match="computes on NumPy arrays") as error:
            kernels.get(kernel, backend)(x)
        assert "array-api" in str(error.value) and "numba-cuda" in str(error.value)


def test_mixed_library_mlp_inputs_are_refused_before_computing():
    xp = pytest.importorskip("array_api_strict")
    from kernels import mlp

    p = mlp.init_params(d=8, dh=4, m=3, seed=0)
    X, y = np.zeros((5, 8)), np.zeros(5, np.int64)
    before = p.snapshot()
    for x_, y_ in ((xp.asarray(X), y), (X, xp.asarray(y))):
        with pytest.raises(TypeError, match="arrays of one library"):
            kernels.get("mlp_epoch", "array-api")(p, x_, y_, batch_size=2)
    assert all(np.array_equal(a, before[k]) for k, a in p.arrays().items())


def test_array_api_keeps_float64_jax_arrays_made_while_x64_was_on():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from kernels import mlp

    a = np.random.default_rng(0).random((4, 10))
    with jax.enable_x64(True):  # x64 on only while the arrays are made
        z, y = jnp.asarray(a), jnp.asarray(np.array([0, 1, 2, 0]))
    assert kernels.get("softmax", "array-api")(z).dtype == np.float64
    fwd = kernels.get("mlp_fprop", "array-api")(mlp.init_params(d=10, dh=4, m=3), z, y)
    assert fwd.os.dtype == np.float64 and fwd.ha.dtype == np.float64
