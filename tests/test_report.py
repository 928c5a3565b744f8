"""The report (python -m kernels report): end to end on real data, disturbed rows, what it
refuses before measuring, and the same-run variants."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import one_line_exit

import kernels
from kernels.bench.experiments import report
from kernels.cli import main


def test_quick_report_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # a log or a pipe: 80 columns
    monkeypatch.chdir(tmp_path)  # no --out: a new folder under kernels-results
    argv = "report --quick --examples 300 --kernels gradient_norm,softmax,mlp_epoch --size dh=8"
    # the peers installed here (a named one that cannot run is refused: another test)
    peers = "scipy" + (",torch" if importlib.util.find_spec("torch") else "")
    assert main([*argv.split(), "--peers", peers]) == 0
    printed = capsys.readouterr().out
    (out,) = (tmp_path / "kernels-results").iterdir()
    assert out.name.startswith("report-")
    lines = [line for line in printed.splitlines() if out.name not in line]  # but the paths
    assert max(map(len, lines)) <= 80 and "\u2026" not in printed  # fits, nothing elided
    assert sorted(f.name for f in out.iterdir()) == ["report.json", "report.md", "report.png"]
    assert f"{out.name}/report.json" in printed
    result = json.loads((out / "report.json").read_text())
    m = result["machine"]
    for key in (
        "cpu",
        "cores",
        "threads",
        "versions",
        "peak_flops",
        "copy_bandwidth",
        "store_bandwidth",
        "exp_rate",
        "mlp_products_seconds",
    ):
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
    expected = {("softmax", b) for b in kernels.registry.on_cpu("softmax")} | {
        ("mlp_epoch", b) for b in kernels.registry.on_cpu("mlp_epoch")
    }
    assert expected <= {(r["kernel"], r["backend"]) for r in rows}
    for r in rows:
        assert r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"]
        assert r["extrapolated"]  # 300 examples stand for 60,000
        assert r["seconds_per_epoch"] > 0 and r["limit_seconds"] > 0
        if r["disturbed"]:  # faster than its limit: no percentage
            assert r["pct_of_limit"] is None and r["mode"] != "cache-hot"
        else:
            assert r["pct_of_limit"] == pytest.approx(
                100 * r["limit_seconds"] / r["seconds_per_epoch"]
            )
        assert r["sizes"] == {"mlp_epoch": {"dh": 8}, "gradient_norm": {"side": 28}}.get(
            r["kernel"], {}
        )
        if r["backend"] == "numpy":
            assert r["speedup_vs_baseline"] == 1.0
        assert r["mode"] == ("" if r["kernel"] == "mlp_epoch" else r["mode"])
    modes = {(r["backend"], r["mode"]) for r in rows if r["kernel"] == "softmax" and not r["peer"]}
    assert ("numpy", "streaming") in modes and ("numpy", "cache-hot") in modes
    assert ("python", "streaming") not in modes
    for r in rows:
        if r["peer"] and r["kernel"] == "mlp_epoch":  # checked against numba, same epoch
            assert r["max_diff_vs_compiled"] < 1e-10
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
    result = report.time_report(
        ("softmax", "mlp_epoch"),
        examples=200,
        quick=True,
        progress=False,
        cold_start=False,
        peer_names=(),
    )
    for r in result.rows:
        if r.mode == "cache-hot":
            assert not r.disturbed and r.pct_of_limit > 100
        else:
            assert r.disturbed and r.pct_of_limit is None
    assert result.disturbed
    from kernels.bench.renderers import render

    assert any("disturbed" in cell for r in result.rows if r.disturbed for cell in render.cells(r))


def test_report_refuses_unknown_kernel():
    message = one_line_exit(
        ["report", "--kernels", "softmax,nope"], "kernels report: unknown kernel"
    )
    assert "valid: gradient_norm" in message


def test_a_named_peer_that_cannot_run_is_refused_before_the_run(monkeypatch, tmp_path):
    from kernels.bench.experiments import report

    timed = []
    monkeypatch.setattr(report, "time_report", lambda *a, **k: timed.append(a))
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    message = one_line_exit(
        ["report", "--peers", "scipy,torch", "--out", str(tmp_path)],
        "kernels report: peer(s) torch cannot run here",
    )
    assert "torch.compile" not in message.split("(")[0] and timed == []


def test_report_refuses_bad_threads(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--threads", "0"])
    assert "must be an integer >= 1" in capsys.readouterr().err


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.skipif("numba" not in kernels.available("softmax"), reason="numba not installed")
def test_same_run_variants_of_threads_and_dtype(tmp_path, capsys, monkeypatch):
    before = sorted(os.sched_getaffinity(0))
    argv = "report --quick --examples 300 --kernels softmax,mlp_epoch --size dh=8 --threads 1,2"
    argv += " --dtype float64,float32"
    assert main([*argv.split(), "--peers", "", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "report.json").read_text())
    assert result["machine"]["threads"] == 1 and {r["dtype"] for r in result["rows"]} == {"float64"}
    rows = {(r["kernel"], r["dtype"], r["threads"]): r for r in result["variants"]["rows"]}
    assert set(rows) == {
        (k, d, n) for k in ("softmax", "mlp_epoch") for d in ("float64", "float32") for n in (1, 2)
    }
    for (kernel, dtype, n), r in rows.items():
        assert r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"] and r["extrapolated"]
        assert r["speedup_vs_threads"] == pytest.approx(
            rows[kernel, dtype, 1]["seconds_per_epoch"] / r["seconds_per_epoch"]
        )
        assert r["speedup_vs_float64"] == pytest.approx(
            rows[kernel, "float64", n]["seconds_per_epoch"] / r["seconds_per_epoch"]
        )
        assert r["mode"] == ("streaming" if kernel == "softmax" else "")
    assert result["machine"]["affinity"] == before[:1]  # measured on one core
    assert sorted(os.sched_getaffinity(0)) == before  # and left as it was
    # the Markdown page holds every variant's row, as the printed table does
    page = [line.split(" | ") for line in (tmp_path / "report.md").read_text().splitlines()]
    listed = {
        (c[0].strip("| ").split()[0], c[1], int(c[2])): c[3]
        for c in page
        if len(c) == 7 and c[1] in ("float64", "float32")
    }
    assert set(rows) <= set(listed)
    for key, r in rows.items():
        assert float(listed[key].lstrip("~")) == pytest.approx(r["seconds_per_epoch"], rel=1e-3)


def test_a_report_beside_other_work_says_so_first_and_in_its_json(monkeypatch):
    """Other work took a core while every row and limit was measured: each row is marked
    busy (and * in the table), the report's first lines say so, and the JSON keeps it."""
    from kernels.bench.experiments import report
    from kernels.bench.renderers import render
    from kernels.bench.rows import Report
    from kernels.bench.timing import load

    monkeypatch.setattr(load, "others", lambda before, after: 1.0)
    result = report.time_report(
        ("softmax",), quick=True, examples=300, progress=False, cold_start=False, peer_names=()
    )
    assert result.rows and all(r.busy and r.others == 1.0 for r in result.rows)
    assert result.limits_others and all(o == 1.0 for o in result.limits_others)
    first = render.header(result).splitlines()[2]
    assert first.startswith("busy machine: other work took up to 1.00 cores")
    assert "rows (marked *)" in first and "measurements of the limits" in first
    assert all(render.cells(r)[1].endswith("*") for r in result.rows)
    again = Report.from_json(result.to_json())
    assert again.load_line() == result.load_line() and again.rows[0].busy
    monkeypatch.setattr(load, "others", lambda before, after: 0.0)
    quiet = report.time_report(
        ("softmax",), quick=True, examples=300, progress=False, cold_start=False, peer_names=()
    )
    assert quiet.load_line() is None and not any(r.busy for r in quiet.rows)
    assert len(render.header(quiet).splitlines()) == 2


def test_the_chart_is_what_the_docs_say_it_is(monkeypatch, tmp_path):
    """docs/benchmarking.md describes the chart: a logarithmic axis (no bar cut), each
    bar labelled with its value, the limit a black dashed line. The chart does that."""
    import matplotlib.pyplot as plt

    from kernels.bench.renderers import charts
    from kernels.bench.rows import Report

    root = Path(__file__).resolve().parents[1]
    text = " ".join((root / "docs" / "benchmarking.md").read_text().split())
    assert "logarithmic axis" in text and "black dashed line" in text
    result = Report.from_json((root / "benchmarks/results/report-xeon-2026-11-29.json").read_text())
    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    charts.report_chart(result, tmp_path / "chart.png")
    for ax, kernel in zip(figures[0].axes, result.kernels):
        rows = result.rows_of(kernel)
        assert ax.get_xscale() == "log"
        assert ax.get_xlim()[1] > max(r.seconds_per_epoch for r in rows)  # nothing cut
        labels = [t.get_text() for t in ax.texts]
        assert all(any(f"{r.seconds_per_epoch:.3g} s" in x for x in labels) for r in rows)
        limit = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert limit and limit[0].get_color() == "black"


def test_the_reports_first_line_is_whole(capsys):
    from rich.console import Console

    from kernels.bench.renderers import render
    from kernels.bench.rows import Report

    root = Path(__file__).resolve().parents[1]
    result = Report.load(root / "benchmarks" / "results" / "report-epyc-zen4-2026-12-04.json")
    render.print_report(result, Console(width=80))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Seconds per Fashion-MNIST epoch") and first.endswith("thread(s)")
