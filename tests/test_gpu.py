"""The GPU backends and harness: ``numba-cuda`` (compiled loops on the device) and
``python -m kernels gpu``.

Without a GPU, numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, set in conftest.py) runs
the numba-cuda kernels on the CPU, one Python thread per device thread, so they are
checked here on small inputs against the CPU backends; the registry-wide tests skip
them there and run them in full on a GPU (benchmarks/gpu_run.sh). The array-api and
jax backends on other libraries' arrays: tests/test_other_arrays.py."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.special
from conftest import cuda_backend, tol

import kernels
from kernels import mlp

NUMBA_CUDA = pytest.mark.skipif(
    not any("numba" == n for n in kernels.available("softmax")), reason="numba cannot run here"
)


def to_device(a):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(a))


def test_gpu_backends_are_registered_with_their_device():
    for kernel in kernels.KERNELS:
        assert {"numba-cuda", "array-api"} <= set(kernels.backends(kernel))
        cuda, portable = (kernels.registry.entry(kernel, b) for b in ("numba-cuda", "array-api"))
        assert (cuda.cpu, cuda.gpu, cuda.rank) == (False, "numba", None)
        assert (portable.cpu, portable.gpu, portable.rank) == (True, "cupy", None)


@pytest.mark.skipif(os.environ.get("KERNELS_GPU") == "1", reason="a GPU is present")
def test_without_a_gpu_numba_cuda_is_unavailable_and_says_why():
    code = """
        import kernels
        print("numba-cuda" in kernels.available("softmax"))
        print(kernels.select.choose("softmax")[0])
        try:
            kernels.get("softmax", "numba-cuda")
        except kernels.BackendUnavailable as exc:
            print(exc)
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"},
    )
    assert out.returncode == 0, out.stderr
    available, chosen, why = out.stdout.splitlines()
    assert available == "False" and chosen != "numba-cuda"
    assert "cannot run here" in why and "NUMBA_ENABLE_CUDASIM" in why


# ---- numba-cuda, on the device (or its simulator) ---------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_gradient_norm_matches_numpy_gradient(dtype, train):
    fn = cuda_backend("gradient_norm")
    images = [
        train[0][:2].reshape(-1, 28, 28).astype(dtype),
        np.random.default_rng(0).normal(size=(3, 2, 5)).astype(dtype),
        np.random.default_rng(1).normal(size=(1, 7, 2)).astype(dtype),
    ]
    for u in images:
        expected = sum(g * g for g in np.gradient(u, axis=(1, 2)))
        got = fn(u)
        assert got.dtype == dtype and got.shape == u.shape
        np.testing.assert_allclose(got, expected, **tol(dtype, "gradient_norm"))
        on_device = fn(to_device(u))  # stays on the device
        assert not isinstance(on_device, np.ndarray)
        np.testing.assert_allclose(
            on_device.copy_to_host(), expected, **tol(dtype, "gradient_norm")
        )
    np.testing.assert_allclose(fn(images[1][0]), fn(images[1])[0])  # one (H, W) image


def test_cuda_out_and_bad_input_as_the_cpu_backends(train):
    fn = cuda_backend("gradient_norm")
    u = train[0][:2].reshape(-1, 28, 28)
    out = np.empty_like(u)
    assert fn(u, out=out) is out
    np.testing.assert_allclose(out, kernels.get("gradient_norm", "numpy")(u), **tol(np.float64))
    device_out = to_device(np.empty_like(u))
    assert fn(to_device(u), out=device_out) is device_out
    for bad, error in (
        (np.zeros((3, 1, 4)), ValueError),
        (np.zeros(5), ValueError),
        (np.zeros((2, 3, 3), np.complex128), TypeError),
    ):
        with pytest.raises(error) as host:
            fn(bad)
        with pytest.raises(error) as reference:
            kernels.get("gradient_norm", "numpy")(bad)
        assert str(host.value) == str(reference.value)
    with pytest.raises(ValueError, match="H >= 2"):
        fn(to_device(np.zeros((3, 1, 4))))
    with pytest.raises(TypeError, match="float32 or float64"):
        fn(to_device(np.zeros((2, 3, 3), np.int64)))
    with pytest.raises(TypeError, match="device array"):
        fn(to_device(u), out=np.empty_like(u))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_softmax_matches_scipy_on_hard_rows(dtype):
    fn = cuda_backend("softmax")
    z = np.random.default_rng(2).normal(scale=30, size=(12, 10))
    z[1] = 1e4
    z[2, 3] = np.nan
    z[3, 0] = np.inf
    z[4] = -np.inf
    z[5, :5] = -np.inf
    z = z.astype(dtype)
    with np.errstate(invalid="ignore"):
        expected = scipy.special.softmax(z, axis=1)
    np.testing.assert_allclose(fn(z), expected, **tol(dtype))
    np.testing.assert_allclose(fn(to_device(z)).copy_to_host(), expected, **tol(dtype))
    np.testing.assert_allclose(fn(z[0]), expected[0], **tol(dtype))


def small_mlp(dtype, activation="relu", dh=5):
    return mlp.init_params(dh=dh, seed=3, dtype=dtype, activation=activation)


@NUMBA_CUDA
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("lam", [0.0, 0.01])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_fprop_bprop_match_numba(activation, lam, dtype, train):
    x, y = train[0][:4].astype(dtype), train[1][:4]
    p = small_mlp(dtype, activation)
    fwd = cuda_backend("mlp_fprop")(p, x, y, lam=lam)
    ref = kernels.get("mlp_fprop", "numba")(p, x, y, lam=lam)
    for name in ("ha", "hs", "oa", "os"):
        np.testing.assert_allclose(
            getattr(fwd, name), getattr(ref, name), **tol(dtype), err_msg=name
        )
    np.testing.assert_allclose(fwd.loss, ref.loss, **tol(dtype))
    g = cuda_backend("mlp_bprop")(p, x, y, fwd, lam=lam)
    g_ref = kernels.get("mlp_bprop", "numba")(p, x, y, ref, lam=lam)
    for name, a in g.arrays().items():
        np.testing.assert_allclose(a, g_ref.arrays()[name], **tol(dtype), err_msg=name)
    on_device = kernels.get("mlp_fprop", "numba-cuda")(p, to_device(x), to_device(y), lam=lam)
    assert not isinstance(on_device.os, np.ndarray)
    np.testing.assert_allclose(on_device.os.copy_to_host(), ref.os, **tol(dtype))


@NUMBA_CUDA
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_epoch_matches_numba_with_a_short_last_minibatch(dtype, train):
    X, y = train[0][:13].astype(dtype), train[1][:13]  # minibatches 5, 5, 3
    p, q = small_mlp(dtype, "tanh"), small_mlp(dtype, "tanh")
    loss = cuda_backend("mlp_epoch")(p, to_device(X), to_device(y), batch_size=5, lr=0.1, lam=0.01)
    reference = kernels.get("mlp_epoch", "numba")(q, X, y, batch_size=5, lr=0.1, lam=0.01)
    np.testing.assert_allclose(loss, reference, **tol(dtype, "mlp_epoch"))
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], **tol(dtype, "mlp_epoch"), err_msg=name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and inf on purpose
@NUMBA_CUDA
def test_cuda_epoch_divergence_leaves_p_as_before(train):
    X, y = train[0][:10], train[1][:10]
    p = small_mlp(np.float64)
    before = p.snapshot()
    with pytest.raises(mlp.DivergenceError, match="minibatch"), np.errstate(all="ignore"):
        cuda_backend("mlp_epoch")(p, X * 1e300, y, batch_size=5, lr=1e300)  # simulated: warns
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before[name])


def test_cuda_epoch_refuses_bad_labels_on_the_device_before_any_change(train):
    epoch = cuda_backend("mlp_epoch")
    p = small_mlp(np.float64)
    before = p.snapshot()
    X = to_device(train[0][:6])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        epoch(p, X, to_device(np.array([0, 1, 2, 3, 4, 10])), batch_size=3)
    with pytest.raises(TypeError, match="dtype float32 but the parameters are float64"):
        epoch(p, to_device(train[0][:6].astype(np.float32)), to_device(train[1][:6]))
    with pytest.raises(ValueError, match="one label per row"):
        epoch(p, X, to_device(train[1][:5]))
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before[name])
