"""The benchmark suites cover the registry, and the report's parts that can be tested honestly."""
import importlib.util
import json
import os
import re
import resource
import sys
from pathlib import Path

import numpy as np
import pytest

import kernels
from benchmarks import bench_epochs
from kernels.cli import main
from kernels.bench.timing import limits, stopwatch
from kernels.bench.experiments import report
from kernels.bench.workloads import SPECS, Workload, upsample
from conftest import one_line_exit

# Written out by hand, not derived from the registry: a shipped backend dropped from the
# registry or from its benchmark class fails here (the registry may hold more).
GPU = {"numba-cuda", "array-api"}
GPU_ONLY = {"numba-cuda"}         # timed on the device by `python -m kernels gpu`, not by asv
EXPECTED = {
    "gradient_norm": {"python", "numpy", "numba", "jax", "numba-serial"} | GPU,
    "softmax": {"python", "numpy", "numba", "jax"} | GPU,
    "mlp_fprop": {"python", "example-loop", "numpy", "numba", "jax"} | GPU,
    "mlp_bprop": {"python", "example-loop", "numpy", "numba", "jax"} | GPU,
    "mlp_epoch": {"python", "example-loop", "numpy", "numba", "jax", "numba-serial"} | GPU,
}
CLASSES = {"gradient_norm": "GradientNorm", "softmax": "Softmax", "mlp_fprop": "MlpFprop",
           "mlp_bprop": "MlpBprop", "mlp_epoch": "MlpEpoch"}


def test_registry_holds_the_shipped_table():
    for kernel, names in EXPECTED.items():
        assert names <= set(kernels.backends(kernel)), kernel


@pytest.mark.parametrize("kernel", kernels.KERNELS)
def test_every_backend_has_an_asv_benchmark(kernel):
    cls = getattr(bench_epochs, CLASSES.get(kernel, bench_epochs.class_name(kernel)))
    covered = set(cls.params[0])
    if kernel in bench_epochs.PlainPython.params[0]:
        covered.add("python")
    cpu = {b for b in kernels.backends(kernel) if kernels.registry.entry(kernel, b).cpu}
    assert covered == cpu
    assert EXPECTED.get(kernel, set()) - GPU_ONLY <= covered
    assert "python" not in cls.params[0]          # never a whole plain-Python epoch
    assert hasattr(cls, "time_epoch")
    assert set(bench_epochs.Learning.params[0]) == {"numpy", "numba"}   # what one epoch learns


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
        np.ones(shape), np.ones(shape), np.ones(shape)       # first use: faults allowed
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(50):
            a, b, c = np.ones(shape), np.ones(shape), np.ones(shape)
            del a, b, c
        assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 150


def test_mlp_flop_model():
    # docs/design.md, section 7: 2 N dh (2d + 3m), about 9.6 GFLOP at dh = 50
    flop = {k: SPECS[k].flop(60_000, 600, 50, 8, 784) for k in ("mlp_fprop", "mlp_bprop", "mlp_epoch")}
    assert flop["mlp_epoch"] == 2 * 60_000 * 50 * (2 * 784 + 3 * 10)
    assert flop["mlp_epoch"] == pytest.approx(9.588e9)
    assert flop["mlp_fprop"] + flop["mlp_bprop"] == flop["mlp_epoch"]


def test_stream_byte_model():
    assert SPECS["gradient_norm"].bytes(60_000, 600, 50, 8, 784) == pytest.approx(752.64e6)
    assert SPECS["softmax"].bytes(60_000, 600, 50, 4, 784) == 2 * 60_000 * 10 * 4


def test_roofline_models():
    # the byte models of the MLP count the parameters once per call (read, and written
    # back by the epoch's update): at K = 1 they dominate, at K = 60,000 the images do
    params = 50 * 785 + 10 * 51
    epoch = Workload("mlp_epoch", K=1, n=100)
    assert epoch.work(100, "bytes") == 8 * (100 * 785 + 100 * 2 * params)
    assert Workload("mlp_epoch", K=100, n=100).work(100, "bytes") == 8 * (100 * 785 + 2 * params)
    assert Workload("gradient_norm", n=10, scale=2).work(10, "flop") == 8 * 10 * 56 * 56
    with pytest.raises(ValueError, match="softmax takes no images of another size"):
        Workload("softmax", n=10, scale=2)


def test_upsampled_images_hold_the_same_picture():
    X = np.arange(2 * 784, dtype=float).reshape(2, 784)
    big = upsample(X, 3).reshape(2, 84, 84)
    np.testing.assert_array_equal(big[:, ::3, ::3], X.reshape(2, 28, 28))
    np.testing.assert_array_equal(big[:, 2::3, 1::3], X.reshape(2, 28, 28))


def test_limit_seconds():
    rates = {"peak_flops": 1e10, "copy_bandwidth": 1e9}
    assert Workload("mlp_epoch", n=100).limit_seconds(rates) == pytest.approx(0.9588)
    assert Workload("gradient_norm", dtype="float32", n=100).limit_seconds(rates) \
        == pytest.approx(0.37632)


def test_streaming_epoch_writes_every_output_in_place():
    work = Workload("gradient_norm", n=250, stream=True)
    work.run(kernels.get("gradient_norm", "numpy"))
    images = np.concatenate(work.inputs["blocks"])
    expected = sum(np.square(d) for d in np.gradient(images, axis=(1, 2)))
    np.testing.assert_allclose(work.out, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="no streaming epoch"):
        Workload("mlp_epoch", n=100, stream=True)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("rate, op", [("copy_bandwidth", "copyto"), ("store_bandwidth", "multiply")])
def test_bandwidths_cover_every_slice(rate, op, threads, monkeypatch):
    """The threaded stream must cover the whole buffer, or the 'limit' would be too fast."""
    seen = []
    real = getattr(np, op)
    monkeypatch.setattr(limits.np, op, lambda *a, **kw: (seen.append(a[1 if op == "copyto" else 0].size),
                                                        real(*a, **kw))[1])
    assert getattr(limits, rate)(nbytes=8 * 1001, rounds=1, threads=threads) > 0
    assert seen[-threads:] and sum(seen[-threads:]) == 1001


def test_extrapolation():
    assert stopwatch.extrapolate(2.0, 1, 600) == 1200.0
    assert stopwatch.extrapolate(0.5, 600, 600) == 0.5
    assert stopwatch.extrapolate(3.0, 20, 600) == pytest.approx(90.0)


def test_quick_report_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")             # a log or a pipe: 80 columns
    monkeypatch.chdir(tmp_path)                     # no --out: a new folder under kernels-results
    assert main(["report", "--quick", "--examples", "300", "--kernels", "gradient_norm,softmax,mlp_epoch",
                 "--dh", "8", "--peers", "scipy,torch"]) == 0
    printed = capsys.readouterr().out
    (out,) = (tmp_path / "kernels-results").iterdir()
    assert out.name.startswith("report-")
    lines = [line for line in printed.splitlines() if out.name not in line]    # but the paths
    assert max(map(len, lines)) <= 80 and "\u2026" not in printed     # fits, nothing elided
    assert sorted(f.name for f in out.iterdir()) == ["report.json", "report.md", "report.png"]
    assert f"{out.name}/report.json" in printed
    result = json.loads((out / "report.json").read_text())
    m = result["machine"]
    for key in ("cpu", "cores", "threads", "versions", "peak_flops", "copy_bandwidth", "store_bandwidth", "exp_rate",
                "mlp_products_seconds"):
        assert key in m
    assert m["mlp_products_seconds"] > 0
    assert m["threads"] == 1 and m["peak_flops"] > 0 and m["copy_bandwidth"] > 0
    # the FLOP limit is the machine's: the higher of the large product and the FMA loop
    assert m["peak_flops"] == max(m["gemm_flops"], m["fma_flops"])
    assert m["fma_flops"] > 0 or importlib.util.find_spec("numba") is None
    # the limit's rates: measured before the first kernel and after each, the best kept
    assert len(result["rate_measurements"]) == 4
    assert m["copy_bandwidth"] == max(r["copy_bandwidth"] for r in result["rate_measurements"])
    rows = result["rows"]
    expected = {("softmax", b) for b in kernels.registry.on_cpu("softmax")} \
        | {("mlp_epoch", b) for b in kernels.registry.on_cpu("mlp_epoch")}
    assert expected <= {(r["kernel"], r["backend"]) for r in rows}
    for r in rows:
        assert r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"]
        assert r["extrapolated"]                     # 300 examples stand for 60,000
        assert r["seconds_per_epoch"] > 0 and r["limit_seconds"] > 0
        if r["disturbed"]:                           # faster than its limit: no percentage
            assert r["pct_of_limit"] is None and r["mode"] != "cache-hot"
        else:
            assert r["pct_of_limit"] == pytest.approx(100 * r["limit_seconds"] / r["seconds_per_epoch"])
        assert r["dh"] == (8 if r["kernel"] == "mlp_epoch" else None)
        if r["backend"] == "numpy":
            assert r["speedup_vs_numpy"] == 1.0
        assert r["mode"] == ("" if r["kernel"] == "mlp_epoch" else r["mode"])
    modes = {(r["backend"], r["mode"]) for r in rows if r["kernel"] == "softmax" and not r["peer"]}
    assert ("numpy", "streaming") in modes and ("numpy", "cache-hot") in modes
    assert ("python", "streaming") not in modes
    for r in rows:
        if r["peer"] and r["kernel"] == "mlp_epoch":     # checked against numba, same epoch
            assert r["max_diff_vs_numba"] < 1e-10
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| numpy stream |" in (out / "report.md").read_text()
    # cold start: only the kernels asked for; --quick probes the fresh compile only
    assert set(result["cold_start"]) == {"compile"}
    probed = {k.split(":")[1] for k in result["cold_start"]["compile"] if ":" in k}
    assert probed and probed <= {"gradient_norm", "softmax", "mlp_epoch"}
    assert set(result["fastest"]) == {"gradient_norm", "softmax", "mlp_epoch"}
    assert result["fastest"]["softmax"]["backend"] in kernels.available("softmax")


def test_a_row_faster_than_its_limit_is_marked_disturbed(monkeypatch):
    """Rates measured in a slow moment (here: absurdly slow) must not give a streaming or
    FLOP-bound row over 100 % of its limit; a cache-hot row may pass the bound."""
    slow = {"peak_flops": 1e3, "copy_bandwidth": 1e3, "store_bandwidth": 1e3, "exp_rate": 1e3}
    monkeypatch.setattr(report.limits, "machine_rates", lambda *a, **kw: dict(slow))
    monkeypatch.setattr(report.limits, "products_seconds", lambda *a, **kw: 1.0)
    result = report.time_report(("softmax", "mlp_epoch"), examples=200, quick=True, progress=False,
                        cold_start=False, peer_names=())
    for r in result.rows:
        if r.mode == "cache-hot":
            assert not r.disturbed and r.pct_of_limit > 100
        else:
            assert r.disturbed and r.pct_of_limit is None
    assert result.disturbed
    from kernels.bench.renderers import render
    assert any("disturbed" in cell for r in result.rows if r.disturbed for cell in render.cells(r))


def test_report_refuses_unknown_kernel():
    message = one_line_exit(["report", "--kernels", "softmax,nope"], "kernels report: unknown kernel")
    assert "valid: gradient_norm" in message


def test_a_named_peer_that_cannot_run_is_refused_before_the_run(monkeypatch, tmp_path):
    from kernels.bench.experiments import report
    timed = []
    monkeypatch.setattr(report, "time_report", lambda *a, **k: timed.append(a))
    monkeypatch.setitem(sys.modules, "torch", None)              # import torch now fails
    message = one_line_exit(["report", "--peers", "scipy,torch", "--out", str(tmp_path)],
                            "kernels report: peer(s) torch cannot run here")
    assert "torch.compile" not in message.split("(")[0] and timed == []


def test_report_refuses_bad_threads(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--threads", "0"])
    assert "must be an integer >= 1" in capsys.readouterr().err


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.skipif("numba" not in kernels.available("softmax"), reason="numba not installed")
def test_same_run_variants_of_threads_and_dtype(tmp_path, capsys, monkeypatch):
    before = sorted(os.sched_getaffinity(0))
    assert main(["report", "--quick", "--examples", "300", "--kernels", "softmax,mlp_epoch",
                 "--dh", "8", "--peers", "", "--threads", "1,2", "--dtype", "float64,float32",
                 "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "report.json").read_text())
    assert result["machine"]["threads"] == 1 and {r["dtype"] for r in result["rows"]} == {"float64"}
    rows = {(r["kernel"], r["dtype"], r["threads"]): r for r in result["variants"]["rows"]}
    assert set(rows) == {(k, d, n) for k in ("softmax", "mlp_epoch")
                         for d in ("float64", "float32") for n in (1, 2)}
    for (kernel, dtype, n), r in rows.items():
        assert r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"] and r["extrapolated"]
        assert r["speedup_vs_threads"] == pytest.approx(
            rows[kernel, dtype, 1]["seconds_per_epoch"] / r["seconds_per_epoch"])
        assert r["speedup_vs_float64"] == pytest.approx(
            rows[kernel, "float64", n]["seconds_per_epoch"] / r["seconds_per_epoch"])
        assert r["mode"] == ("streaming" if kernel == "softmax" else "")
    assert result["machine"]["affinity"] == before[:1]                 # measured on one core
    assert sorted(os.sched_getaffinity(0)) == before                    # and left as it was


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
    assert any(name.startswith("jit.") and "softmax" in str(p) for p, name in
               zip(keep.rglob("*.nbi"), indexes)), indexes
