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

import kernels
from kernels import mlp

from conftest import tol

NUMBA_CUDA = pytest.mark.skipif(not any("numba" == n for n in kernels.available("softmax")),
                                reason="numba cannot run here")


def cuda_backend(kernel):
    """The numba-cuda backend (on a GPU, or simulated), or a skip saying why it cannot run."""
    try:
        return kernels.get(kernel, "numba-cuda")
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))


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
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"})
    assert out.returncode == 0, out.stderr
    available, chosen, why = out.stdout.splitlines()
    assert available == "False" and chosen != "numba-cuda"
    assert "cannot run here" in why and "NUMBA_ENABLE_CUDASIM" in why


# ---- numba-cuda, on the device (or its simulator) ---------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_gradient_norm_matches_numpy_gradient(dtype, train):
    fn = cuda_backend("gradient_norm")
    images = [train[0][:2].reshape(-1, 28, 28).astype(dtype),
              np.random.default_rng(0).normal(size=(3, 2, 5)).astype(dtype),
              np.random.default_rng(1).normal(size=(1, 7, 2)).astype(dtype)]
    for u in images:
        expected = sum(g * g for g in np.gradient(u, axis=(1, 2)))
        got = fn(u)
        assert got.dtype == dtype and got.shape == u.shape
        np.testing.assert_allclose(got, expected, **tol(dtype, "gradient_norm"))
        on_device = fn(to_device(u))                      # stays on the device
        assert not isinstance(on_device, np.ndarray)
        np.testing.assert_allclose(on_device.copy_to_host(), expected, **tol(dtype, "gradient_norm"))
    np.testing.assert_allclose(fn(images[1][0]), fn(images[1])[0])      # one (H, W) image


def test_cuda_out_and_bad_input_as_the_cpu_backends(train):
    fn = cuda_backend("gradient_norm")
    u = train[0][:2].reshape(-1, 28, 28)
    out = np.empty_like(u)
    assert fn(u, out=out) is out
    np.testing.assert_allclose(out, kernels.get("gradient_norm", "numpy")(u), **tol(np.float64))
    device_out = to_device(np.empty_like(u))
    assert fn(to_device(u), out=device_out) is device_out
    for bad, error in ((np.zeros((3, 1, 4)), ValueError), (np.zeros(5), ValueError),
                       (np.zeros((2, 3, 3), np.complex128), TypeError)):
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
        np.testing.assert_allclose(getattr(fwd, name), getattr(ref, name), **tol(dtype), err_msg=name)
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
    X, y = train[0][:13].astype(dtype), train[1][:13]             # minibatches 5, 5, 3
    p, q = small_mlp(dtype, "tanh"), small_mlp(dtype, "tanh")
    loss = cuda_backend("mlp_epoch")(p, to_device(X), to_device(y), batch_size=5, lr=0.1, lam=0.01)
    reference = kernels.get("mlp_epoch", "numba")(q, X, y, batch_size=5, lr=0.1, lam=0.01)
    np.testing.assert_allclose(loss, reference, **tol(dtype, "mlp_epoch"))
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], **tol(dtype, "mlp_epoch"), err_msg=name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NaN and inf on purpose
@NUMBA_CUDA
def test_cuda_epoch_divergence_leaves_p_as_before(train):
    X, y = train[0][:10], train[1][:10]
    p = small_mlp(np.float64)
    before = p.snapshot()
    with pytest.raises(mlp.DivergenceError, match="minibatch"), np.errstate(all="ignore"):
        cuda_backend("mlp_epoch")(p, X * 1e300, y, batch_size=5, lr=1e300)   # simulated: warns
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


# ---- the GPU harness (python -m kernels gpu), run on the simulator ---------------------

RATES = {"flops_float64": 5e13, "flops_float32": 6e13, "copy_bandwidth": 4e12}


def test_gpu_harness_times_places_checks_and_sweeps(tmp_path):
    cuda_backend("softmax")
    from kernels.bench.experiments import gpu
    from kernels.bench.renderers import gpu_render
    result = gpu.time_gpu(("softmax", "mlp_epoch"), "float64", K=5, repeats=1, sweep=(5, 10),
                     examples=10, rates=RATES, progress=lambda line: None, dh=2)
    rows = {(r["kernel"], r["backend"]): r for r in result["rows"]}
    for kernel in ("softmax", "mlp_epoch"):
        assert rows[(kernel, "numba")]["where"] == "cpu"
        timed = rows[(kernel, "numba-cuda")]
        assert timed["where"] == "gpu" and timed["agrees"] and timed["seconds"] > 0
        assert timed["pct_of_limit"] == pytest.approx(100 * timed["limit_seconds"] / timed["seconds"])
        # a library without a GPU here (CuPy, PyTorch on CUDA, jax on a GPU): said, not timed
        assert "skipped" in rows[(kernel, "array-api")]
    # the copies to the device: on their own line, the bytes of what the kernel reads
    copies = {(c["kernel"], c["library"]): c for c in result["copies"]}
    assert copies[("mlp_epoch", "numba")]["bytes"] == 10 * 784 * 8 + 10 * 8
    assert {(p["K"], p["backend"]) for p in result["sweep"]} == {
        (5, "numba"), (5, "numba-cuda"), (10, "numba"), (10, "numba-cuda")}
    printed = [*gpu_render.notes(result)]
    assert any("copy to the device" in line for line in printed)
    files = gpu_render.save(result, tmp_path)
    assert sorted(f.name for f in files) == ["gpu-float64.json", "gpu-float64.png"]


def test_crossover_is_where_the_gpu_wins_from_then_on():
    from kernels.bench.experiments.gpu import crossover
    point = lambda K, where, s: {"K": K, "where": where, "backend": "b", "seconds": s}
    cpu = [point(K, "cpu", 1.0) for K in (1, 10, 100, 1000)]
    gpu = [point(1, "gpu", 3.0), point(10, "gpu", 0.9), point(100, "gpu", 1.1), point(1000, "gpu", 0.2)]
    assert crossover(cpu + gpu) == 1000          # a win at 10 lost again at 100 does not count
    assert crossover(cpu + [point(K, "gpu", 2.0) for K in (1, 10, 100, 1000)]) is None
    assert crossover(cpu + [point(K, "gpu", 0.5) for K in (1, 10, 100, 1000)]) == 1


def test_gpu_command_without_a_gpu_stops_in_one_line(monkeypatch):
    """No GPU is said first, whether or not CuPy is installed (installing it would not help)."""
    import ctypes.util
    import pathlib
    from conftest import one_line_exit
    pytest.importorskip("numba")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    real_exists = pathlib.Path.exists
    monkeypatch.setattr(pathlib.Path, "exists",
                        lambda self: False if str(self) == "/dev/nvidiactl" else real_exists(self))
    one_line_exit(["gpu"], "kernels gpu: finds no CUDA GPU here")
    one_line_exit(["gpu", "--kernels", "mlp_fprop"], "kernels gpu: unknown kernel(s) mlp_fprop")


# ---- the prepared GPU run: on a machine without a GPU it stops at once, saying why -----

@pytest.mark.skipif(os.environ.get("KERNELS_GPU") == "1", reason="a GPU is present")
@pytest.mark.parametrize("driver", [False, True])
def test_gpu_run_stops_with_one_clear_line_where_a_gpu_is_missing(tmp_path, driver):
    path = os.environ["PATH"]
    if driver:                                  # nvidia-smi answers, but no CUDA library does
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'NVIDIA H200, 143771 MiB'\n")
        (fake / "nvidia-smi").chmod(0o755)
        path = f"{fake}:{path}"
    else:
        path = ":".join(d for d in path.split(":") if not os.path.exists(f"{d}/nvidia-smi"))
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "gpu_run.sh")
    out = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PATH": path, "OUT": str(tmp_path / "out"),
                              "PYTHON": sys.executable})
    assert out.returncode == 2
    stops = [line for line in out.stdout.splitlines() if line.startswith("gpu_run: STOPPED:")]
    assert len(stops) == 1
    assert ("library" in stops[0]) == driver and ("nvidia-smi" in stops[0]) != driver
    assert stops[0] in (tmp_path / "out" / "log.txt").read_text()     # the log says it too
