"""The benchmark suites cover the registry, and the report's parts that can be tested honestly."""

import os
import re
import resource
import sys
from pathlib import Path

import numpy as np
import pytest

import kernels
from benchmarks import bench_epochs
from kernels.bench.specs import SPECS, upsample
from kernels.bench.timing import limits, stopwatch
from kernels.bench.workloads import Workload


@pytest.mark.parametrize("kernel", kernels.KERNELS)
def test_every_backend_has_an_asv_benchmark(kernel):
    cls = getattr(bench_epochs, bench_epochs.class_name(kernel))
    covered = set(cls.params[0])
    if kernel in bench_epochs.PlainPython.params[0]:
        covered.add("python")
    cpu = {b for b in kernels.backends(kernel) if kernels.registry.entry(kernel, b).cpu}
    assert covered == cpu  # every CPU backend the registry holds; GPU-only ones left out
    assert "python" not in cls.params[0]  # never a whole plain-Python epoch
    assert hasattr(cls, "time_epoch")
    assert set(bench_epochs.Learning.params[0]) == {"numpy", "numba"}  # what one epoch learns


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_pinned_process_reuses_freed_memory():
    """After pin(), a minibatch's temporaries (3 x 0.6 MB, as numpy's gradient_norm
    frees per call) come back from the heap: a few page faults over 50 calls, where
    glibc's default policy could fault each temporary's 150 pages in on every call."""
    from kernels.bench.timing.threads import pinned

    with pinned(1) as settings:
        if settings["allocator"] is None:
            pytest.skip("not glibc")
        shape = (100, 28, 28)
        np.ones(shape), np.ones(shape), np.ones(shape)  # first use: faults allowed
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(50):
            a, b, c = np.ones(shape), np.ones(shape), np.ones(shape)
            del a, b, c
        assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 150


def test_mlp_flop_model():
    # docs/design.md, section 7: 2 N dh (2d + 3m), about 9.6 GFLOP at dh = 50
    flop = {
        k: SPECS[k].flop(60_000, 600, 8, {"dh": 50})
        for k in ("mlp_fprop", "mlp_bprop", "mlp_epoch")
    }
    assert flop["mlp_epoch"] == 2 * 60_000 * 50 * (2 * 784 + 3 * 10)
    assert flop["mlp_epoch"] == pytest.approx(9.588e9)
    assert flop["mlp_fprop"] + flop["mlp_bprop"] == flop["mlp_epoch"]


def test_stream_byte_model():
    assert SPECS["gradient_norm"].bytes(60_000, 600, 8, {"side": 28}) == pytest.approx(752.64e6)
    assert SPECS["softmax"].bytes(60_000, 600, 4, {}) == 2 * 60_000 * 10 * 4


def test_roofline_models():
    # the byte models of the MLP count the parameters once per call (read, and written
    # back by the epoch's update): at K = 1 they dominate, at K = 60,000 the images do
    params = 50 * 785 + 10 * 51
    epoch = Workload("mlp_epoch", K=1, n=100)
    assert epoch.work(100, "bytes") == 8 * (100 * 785 + 100 * 2 * params)
    assert Workload("mlp_epoch", K=100, n=100).work(100, "bytes") == 8 * (100 * 785 + 2 * params)
    assert Workload("gradient_norm", n=10, sizes={"side": 56}).work(10, "flop") == 8 * 10 * 56**2
    assert Workload("mlp_epoch", n=10, sizes={"dh": 7}).inputs["p0"].W1.shape == (7, 784)


@pytest.mark.parametrize(
    "kernel, sizes, match",
    [
        ("softmax", {"side": 56}, "softmax: this kernel has no axis side; its axes: K$"),
        ("gradient_norm", {"dh": 5}, "no axis dh; its axes: K, side"),
        ("mlp_epoch", {"dh": 0}, "dh must be a positive integer; got 0"),
        ("mlp_epoch", {"dh": True}, "dh must be a positive integer; got True"),
        ("gradient_norm", {"side": 30}, "side must be a positive integer multiple of 28; got 30"),
    ],
)
def test_a_workload_refuses_sizes_its_kernel_lacks(kernel, sizes, match):
    with pytest.raises(ValueError, match=match):
        Workload(kernel, n=10, sizes=sizes)


def test_an_upsampled_epoch_holds_as_many_pixels():
    work = Workload("gradient_norm", sizes={"side": 56})
    assert work.n == 15_000 and work.inputs["blocks"][0].shape == (100, 56, 56)


def test_upsampled_images_hold_the_same_picture():
    X = np.arange(2 * 784, dtype=float).reshape(2, 784)
    big = upsample(X, 3).reshape(2, 84, 84)
    np.testing.assert_array_equal(big[:, ::3, ::3], X.reshape(2, 28, 28))
    np.testing.assert_array_equal(big[:, 2::3, 1::3], X.reshape(2, 28, 28))


def test_limit_seconds():
    rates = {"peak_flops": 1e10, "copy_bandwidth": 1e9}
    assert Workload("mlp_epoch", n=100).limit_seconds(rates) == pytest.approx(0.9588)
    assert Workload("gradient_norm", dtype="float32", n=100).limit_seconds(rates) == pytest.approx(
        0.37632
    )


def test_streaming_epoch_writes_every_output_in_place():
    work = Workload("gradient_norm", n=250, stream=True)
    work.run(kernels.get("gradient_norm", "numpy"))
    images = np.concatenate(work.inputs["blocks"])
    expected = sum(np.square(d) for d in np.gradient(images, axis=(1, 2)))
    np.testing.assert_allclose(work.out, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="no streaming epoch"):
        Workload("mlp_epoch", n=100, stream=True)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "rate, op", [("copy_bandwidth", "copyto"), ("store_bandwidth", "multiply")]
)
def test_bandwidths_cover_every_slice(rate, op, threads, monkeypatch):
    """The threaded stream must cover the whole buffer, or the 'limit' would be too fast."""
    seen = []
    real = getattr(np, op)
    monkeypatch.setattr(
        limits.np,
        op,
        lambda *a, **kw: (seen.append(a[1 if op == "copyto" else 0].size), real(*a, **kw))[1],
    )
    assert getattr(limits, rate)(nbytes=8 * 1001, rounds=1, threads=threads) > 0
    assert seen[-threads:] and sum(seen[-threads:]) == 1001


def test_cpu_figures_measure_the_limits_on_one_thread_of_one_core(monkeypatch):
    """The per-CPU figures divide one core's epoch by the limits: a np.dot on every
    core's BLAS threads (numpy loaded before the thread variables are set) would double
    the FLOP rate and halve every percentage. Afterwards the process is as it was."""
    from threadpoolctl import threadpool_info

    from benchmarks import cpu_figures

    def state():
        return os.sched_getaffinity(0), {
            lib["filepath"]: lib["num_threads"] for lib in threadpool_info()
        }

    before = state()
    seen = []

    def rate(*args, **kwargs):
        seen.append(
            (len(os.sched_getaffinity(0)), {lib["num_threads"] for lib in threadpool_info()})
        )
        return 1.0

    for name in ("peak_flops", "fma_flops", "copy_bandwidth"):
        monkeypatch.setattr(limits, name, rate)
    assert cpu_figures.limits() == dict.fromkeys(
        ("gemm float64", "gemm float32", "fma float64", "fma float32", "copy"), 1.0
    )
    assert seen == [(1, {1})] * 5
    after = state()
    assert after[0] == before[0]
    assert {path: after[1][path] for path in before[1]} == before[1]  # loaded since: BLAS of scipy


def test_extrapolation():
    assert stopwatch.extrapolate(2.0, 1, 600) == 1200.0
    assert stopwatch.extrapolate(0.5, 600, 600) == 0.5
    assert stopwatch.extrapolate(3.0, 20, 600) == pytest.approx(90.0)


def test_offline_pages_point_asv_at_packaged_files(tmp_path, monkeypatch):
    """asv's own index.html: every CDN tag rewritten to vendor/ or dropped; an unknown
    CDN file or a missing packaged file is refused before the page is touched."""
    from benchmarks import offline_pages

    asv = pytest.importorskip("asv")
    page = (Path(asv.__file__).parent / "www" / "index.html").read_text()
    rewritten, needed = offline_pages.rewrite(page)
    assert "https://" not in "".join(re.findall(r"<(?:script|link)[^>]*>", rewritten))
    assert "integrity=" not in rewritten and "orderBars" not in rewritten
    assert set(needed) == set(offline_pages.LOCAL)
    with pytest.raises(ValueError, match="no local copy"):
        offline_pages.rewrite('<script src="https://cdn.example/new-plugin.js"></script>')

    (tmp_path / "index.html").write_text(page)
    # every packaged file present (stand-ins in tmp_path) but md5's, whatever this machine has
    packaged = tmp_path / "packaged"
    packaged.mkdir()
    for name, (package, source) in list(offline_pages.LOCAL.items()):
        stand_in = packaged / Path(source).name
        if name != "md5.min.js":
            stand_in.write_text("/* packaged */")
        monkeypatch.setitem(offline_pages.LOCAL, name, (package, str(stand_in)))
    with pytest.raises(FileNotFoundError, match="not installed: node-blueimp-md5"):
        offline_pages.install(tmp_path)
    assert (tmp_path / "index.html").read_text() == page and not (tmp_path / "vendor").exists()


@pytest.mark.skipif("numba" not in kernels.available("softmax"), reason="numba not installed")
def test_the_cold_start_probes_leave_what_they_compiled_for_the_other_benchmarks(tmp_path):
    """asv's ColdStart measures a fresh compile in an empty cache and hands the compiled
    code to the environment's cache, so the epoch classes load it, not compile it again."""
    from kernels.bench.experiments import coldstart

    keep = tmp_path / "numba-cache"
    cold = coldstart.cold_starts(kernels=("softmax",), warm=False, keep=str(keep))
    assert cold["compile"]["numba:softmax"] > 0
    indexes = [p.name for p in keep.rglob("*.nbi")]
    assert any(
        name.startswith("jit.") and "softmax" in str(p)
        for p, name in zip(keep.rglob("*.nbi"), indexes)
    ), indexes
