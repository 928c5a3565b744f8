"""The scaling sweep: its cost-model fit and crossovers on constructed points, and a quick
sweep end to end on real Fashion-MNIST (sizes, files, selection record)."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

import kernels
from benchmarks import bench_epochs
from kernels.bench import points, settings
from kernels.bench.experiments import scaling
from kernels.bench.points import Point
from kernels.cli import main

ROOT = Path(__file__).resolve().parents[1]


def constructed(series, spread=0.0):
    """A sweep result holding points whose times follow ``seconds(K)`` per backend, each
    measured with ``spread`` between its rounds."""
    points = []
    for backend, seconds in series.items():
        for K in settings.MINIBATCH.grid:
            p = Point(
                "softmax",
                backend,
                "float64",
                K,
                examples=60_000,
                seconds_per_call=seconds(K),
                flop_per_call=50.0 * K,
                bytes_per_call=160.0 * K,
                spread=spread,
            )
            points.append(asdict(p))
    result = {
        "points": points,
        "grid": {"K": list(settings.MINIBATCH.grid)},
        "rates": {"float64": {}},
    }
    return result


def test_fit_recovers_overhead_and_rate():
    result = constructed(
        {"numba": lambda K: 2e-6 + 160.0 * K / 4e9, "numpy": lambda K: 20e-6 + 160.0 * K / 8e9}
    )
    fits = {f["backend"]: f for f in scaling.fits(result)}
    assert fits["numba"]["overhead_us"] == pytest.approx(2.0, rel=1e-6)
    assert fits["numba"]["rate"] == pytest.approx(4e9, rel=1e-6)
    assert fits["numpy"]["overhead_us"] == pytest.approx(20.0, rel=1e-6)
    assert fits["numba"]["unit"] == "B/s" and fits["numba"]["max_error"] < 1e-9


def test_fit_reports_a_bad_fit():
    result = constructed({"numba": lambda K: 1e-6 * K**2})  # not overhead + linear work
    (fit,) = scaling.fits(result)
    assert fit["max_error"] > 0.5


def test_crossover_where_the_winner_changes():
    # numpy: 20 us + 2 ns/row; numba: 2 us + 4 ns/row: numba wins below 9,000 rows
    result = constructed({"numba": lambda K: 2e-6 + 4e-9 * K, "numpy": lambda K: 20e-6 + 2e-9 * K})
    assert scaling.crossovers(result) == [
        {
            "axis": "K",
            "kernel": "softmax",
            "dtype": "float64",
            "between": [4096, 60_000],
            "from": "numba",
            "to": "numpy",
        }
    ]
    record = scaling.selection(result)["softmax"]["float64"]
    assert min(record["1"], key=record["1"].get) == "numba"
    assert record["60000"]["numpy"] == pytest.approx((20e-6 + 2e-9 * 60_000) / 60_000)


def test_two_backends_within_their_spread_tie_and_make_no_crossover():
    """numba and numba-serial on one thread do the same work: a few per cent either way
    is noise when the rounds spread by 10 %, not a crossover."""
    wobble = {1: 1.03, 16: 0.97, 100: 1.04, 1024: 0.98, 4096: 1.02, 60_000: 0.96}
    series = {"numba": lambda K: 1e-6 * K, "numba-serial": lambda K: 1e-6 * K * wobble.get(K, 1.0)}
    assert scaling.crossovers(constructed(series, spread=0.10)) == []
    assert scaling.crossovers(constructed(series, spread=0.0)) != []  # no spread: every lead counts


def test_plan_lists_the_shared_base_point_once():
    rows = scaling.plan(points.grid(quick=False), kernels=("mlp_epoch",), slow=False)
    keys = [(p.backend, p.K, p.sizes["dh"]) for _, p in rows]
    assert len(keys) == len(set(keys))
    assert ("numpy", 100, 50) in keys and ("numpy", 100, 1000) in keys and ("numpy", 1, 50) in keys
    assert not any(p.backend == "python" for _, p in rows)  # slow=False: no plain Python


def test_quick_sweep_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)  # no --out: a new folder under kernels-results
    assert main(["scaling", "--quick", "--kernels", "softmax,gradient_norm"]) == 0
    printed = capsys.readouterr().out
    (out,) = (tmp_path / "kernels-results").iterdir()
    assert out.name.startswith("scaling-") and str(out.name) in printed
    lines = [line for line in printed.splitlines() if out.name not in line]
    assert max(map(len, lines)) <= 80 and "\u2026" not in printed  # fits, nothing elided
    tmp_path = out
    result = json.loads((tmp_path / "scaling.json").read_text())
    assert result["mode"].startswith("cache-hot")
    measured = {
        (p.kernel, p.backend, p.K, p.sizes.get("side", 28)) for p in points.points_of(result)
    }
    for backend in kernels.registry.on_cpu("softmax"):
        if backend != "python":  # the compiled and array backends: every K
            assert {("softmax", backend, K, 28) for K in settings.MINIBATCH.quick} <= measured
    for side in settings.SIDE.quick:  # gradient_norm on upsampled images too
        assert ("gradient_norm", "numpy", 100, side) in measured
    for p in points.points_of(result):
        assert p.seconds_per_call > 0 and p.examples >= p.K
        assert p.examples <= 60_000 // (p.sizes.get("side", 28) // 28) ** 2
    for p in result["points"]:  # a point is timed or says why not
        assert (p["seconds_per_call"] is None) == (p["skipped"] is not None)
    # each crossover is a real change of the fastest backend between neighbouring sizes
    for c in result["crossovers"]:
        for size, winner in zip(c["between"], (c["from"], c["to"])):
            at = {**points.headline(c["kernel"]), c["axis"]: size}
            pts = points.points_of(result, kernel=c["kernel"], dtype=c["dtype"], **at)
            assert min(pts, key=lambda p: p.seconds_per_call).backend == winner
    for name in ("scaling-K-float64.png", "scaling-width-float64.png", "roofline.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("command", ["scaling", "report"])
def test_bad_dtype_list_is_refused(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--quick", "--dtype", "float64,float16"])
    assert "takes float64 and/or float32 once each" in capsys.readouterr().err


def test_asv_scaling_classes_follow_the_two_by_two_on_the_quick_grid():
    for cls, axis in ((bench_epochs.ScalingK, "K"), (bench_epochs.ScalingWidth, "dh")):
        assert set(cls.params[2]) <= set(points.grid(quick=True)[axis])
        for kernel in cls.params[0]:
            assert {"numpy", "numba"} <= set(cls.params[1]) & set(kernels.backends(kernel))
    assert set(bench_epochs.ScalingK.params[0]) == set(kernels.KERNELS)


def test_fit_unit_follows_the_kernels_bound():
    # float32 gradient_norm moves 8 bytes and does 8 FLOP per pixel: the unit must come
    # from the kernel's bound, not from comparing the two numbers
    points = [
        asdict(
            Point(
                "gradient_norm",
                "numba",
                "float32",
                K,
                {"side": 28},
                examples=60_000,
                seconds_per_call=1e-6 + K * 6272 / 1e10,
                flop_per_call=6272.0 * K,
                bytes_per_call=6272.0 * K,
            )
        )
        for K in (1, 16, 100)
    ]
    (fit,) = scaling.fits({"points": points})
    assert fit["unit"] == "B/s" and fit["rate"] == pytest.approx(1e10)


def test_the_report_says_tie_where_the_pick_is_within_the_spread():
    from kernels.bench.renderers import render
    from kernels.bench.rows import Report, Row

    def row(backend, seconds, low, high):
        return Row(
            "mlp_epoch", backend, "float64", 50, 100, "", seconds, low, high, False, 600, 5, 50.0
        )

    picks = {"mlp_epoch": {"backend": "numba-serial", "why": "autotune record"}}
    wide = Report({}, [row("numba", 1.00, 0.80, 1.75), row("numba-serial", 1.05, 0.9, 1.2)], picks)
    assert any("ties with numba" in line for line in render.summary(wide))
    clear = Report(
        {}, [row("numba", 1.00, 0.99, 1.01), row("numba-serial", 1.5, 1.49, 1.51)], picks
    )
    lines = render.summary(clear)
    assert any("picks numba-serial, not numba" in line for line in lines)
    assert not any("ties" in line for line in lines)


def test_the_summary_says_which_points_were_timed_beside_other_work(capsys):
    from kernels.bench.renderers import scaling_summary

    result = json.loads((ROOT / "benchmarks" / "results" / "scaling" / "scaling.json").read_text())
    scaling_summary.print_summary(result)
    assert "busy machine" not in capsys.readouterr().out
    result["points"][0].update(others=0.9, busy=True)
    scaling_summary.print_summary(result)
    assert f"up to 0.90 cores while 1 of {len(result['points'])} points" in capsys.readouterr().out


def test_scaling_tables_fit_80_columns_with_whole_backend_names(capsys):
    from kernels.bench.renderers import scaling_summary

    result = json.loads((ROOT / "benchmarks" / "results" / "scaling" / "scaling.json").read_text())
    scaling_summary.print_summary(result)
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 80
    assert "example-lo\n" not in out and "numba-ser\n" not in out
    assert "% roof:" in out and "{" not in out.split("threads:")[1]  # explained; no raw dict
