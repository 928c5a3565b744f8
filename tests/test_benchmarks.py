"""The benchmark suites cover the registry, and the report's parts that can be tested honestly."""
import json

import numpy as np
import pytest

import kernels
from benchmarks import bench_epochs
from kernels import limits, report
from kernels.__main__ import main


def test_every_registered_backend_has_an_asv_benchmark():
    suites = {cls.kernel: cls for cls in vars(bench_epochs).values()
              if isinstance(cls, type) and getattr(cls, "kernel", None)}
    assert set(suites) == set(kernels.KERNELS)
    for kernel, cls in suites.items():
        assert cls.param_names[0] == "backend"
        assert tuple(cls.params[0]) == kernels.backends(kernel)
        assert hasattr(cls, "time_epoch") and hasattr(cls, "track_pct_of_limit")
        # plain-Python backends get the slice, every other one the whole epoch
        for backend in kernels.backends(kernel):
            slow = kernels.registry.entry(kernel, backend).slow
            skipped = {c[0] for c in cls.time_epoch.skip_params}
            assert (backend in skipped) == slow


def test_mlp_flop_model():
    # DESIGN §7: 2 N dh (2d + 3m), about 9.6 GFLOP at dh = 50
    assert limits.mlp_flop("mlp_epoch", 60_000, 50) == 2 * 60_000 * 50 * (2 * 784 + 3 * 10)
    assert limits.mlp_flop("mlp_epoch", 60_000, 50) == pytest.approx(9.588e9)
    assert limits.mlp_flop("mlp_fprop", 7, 3) + limits.mlp_flop("mlp_bprop", 7, 3) \
        == limits.mlp_flop("mlp_epoch", 7, 3)


def test_stream_byte_model():
    assert limits.stream_bytes("gradient_norm", 60_000, 8) == pytest.approx(752.64e6)
    assert limits.stream_bytes("softmax", 60_000, 4) == 2 * 60_000 * 10 * 4


def test_limit_seconds():
    rates = {"peak_flops": 1e10, "copy_bandwidth": 1e9}
    assert limits.limit_seconds("mlp_epoch", 60_000, "float64", 50, rates) == pytest.approx(0.9588)
    assert limits.limit_seconds("gradient_norm", 60_000, "float32", 50, rates) \
        == pytest.approx(0.37632)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_copy_bandwidth_copies_every_slice(threads, monkeypatch):
    """The threaded copy must cover the whole buffer, or the 'limit' would be too fast."""
    copied = []
    real = np.copyto
    monkeypatch.setattr(limits.np, "copyto", lambda dst, src: (copied.append(src.size), real(dst, src)))
    assert limits.copy_bandwidth(nbytes=8 * 1001, rounds=1, threads=threads) > 0
    assert copied[-threads:] and sum(copied[-threads:]) == 1001


def test_extrapolation():
    assert report.extrapolate(2.0, 1, 600) == 1200.0
    assert report.extrapolate(0.5, 600, 600) == 0.5
    assert report.extrapolate(3.0, 20, 600) == pytest.approx(90.0)


def test_quick_report_end_to_end(tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    assert main(["report", "--quick", "--examples", "300", "--kernels", "softmax,mlp_epoch",
                 "--dh", "8", "--json", str(out_json), "--plot", str(out_png)]) == 0
    printed = capsys.readouterr().out
    assert "softmax" in printed and "% of limit" in printed and "scipy (peer)" in printed
    result = json.loads(out_json.read_text())
    m = result["machine"]
    for key in ("cpu", "cores", "threads", "versions", "peak_flops", "copy_bandwidth", "exp_rate"):
        assert key in m
    assert m["threads"] == 1 and m["peak_flops"] > 0 and m["copy_bandwidth"] > 0
    rows = result["rows"]
    expected = {("softmax", b) for b in kernels.available("softmax")} \
        | {("mlp_epoch", b) for b in kernels.available("mlp_epoch")}
    assert expected <= {(r["kernel"], r["backend"]) for r in rows}
    for r in rows:
        assert set(r) >= {"kernel", "backend", "dtype", "dh", "K", "seconds_per_epoch",
                          "extrapolated", "pct_of_limit", "speedup_vs_python", "speedup_vs_numpy"}
        assert r["extrapolated"]                     # 300 examples stand for 60,000
        assert r["seconds_per_epoch"] > 0 and r["pct_of_limit"] > 0
        assert r["dh"] == (8 if r["kernel"] == "mlp_epoch" else None)
        if r["backend"] == "numpy":
            assert r["speedup_vs_numpy"] == 1.0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(result["cold_start"]) == {"compile", "cached"}
    assert set(result["fastest"]) == {"softmax", "mlp_epoch"}
    assert result["fastest"]["softmax"]["backend"] in kernels.available("softmax")
    assert "kernels.fastest() here picks: softmax ->" in printed


def test_report_refuses_unknown_kernel():
    with pytest.raises(SystemExit, match="unknown kernel.*valid: gradient_norm"):
        main(["report", "--kernels", "softmax,nope"])


def test_report_refuses_bad_threads(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--threads", "0"])
    assert "must be an integer >= 1" in capsys.readouterr().err
