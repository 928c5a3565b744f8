"""What outside testers and a new user found in round four: a corrupt record, selection
that trusts a record over the registry, edge arguments, and the commands' first hour."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import one_line_exit

import kernels
from kernels import record, select
from kernels.cli import main

ROOT = Path(__file__).resolve().parents[1]


# ---- the autotune record and selection ----------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"results": {"softmax": {"float64": {"100": {"numpy": ' + "9" * 401 + "}}}}}",
    ],
)
def test_a_corrupt_record_is_ignored_with_a_warning_never_an_exception(text):
    record.record_path().write_text(text)
    record.forget()
    with pytest.warns(UserWarning, match="ignoring the unreadable autotune record"):
        backend, why = select.choose("softmax", size=100)
    assert why == "shipped ranking"
    z = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(kernels.softmax(z).sum(), 1.0)


def test_a_record_never_makes_fastest_hand_out_a_gpu_only_backend():
    gpu_only = [
        b for b in kernels.backends("softmax") if not kernels.registry.entry("softmax", b).cpu
    ]
    assert gpu_only
    timings = {b: 1e-12 for b in gpu_only} | {select.ranked("softmax"): 1e-6}
    record.record_path().write_text(
        json.dumps(
            {
                "fingerprint": record.fingerprint(),
                "results": {"softmax": {"float64": {"100": timings}}},
            }
        )
    )
    record.forget()
    backend, _ = select.choose("softmax", size=100)
    assert backend not in gpu_only and kernels.registry.entry("softmax", backend).cpu


def test_a_size_beyond_float_range_is_used_not_a_crash():
    assert kernels.fastest("softmax", size=10**400) is kernels.get(
        "softmax", select.choose("softmax")[0]
    )


@pytest.mark.parametrize("call", [lambda: select.use(""), lambda: select.use(softmax="")])
def test_an_empty_backend_name_is_refused(call):
    with pytest.raises(ValueError, match="empty backend name"):
        with call():
            pass


def test_tolerance_of_an_unknown_kernel_is_a_key_error_listing_the_kernels():
    with pytest.raises(KeyError, match="valid kernels: gradient_norm"):
        kernels.tolerance("no_such_kernel", "float64")
    assert kernels.tolerance("softmax", "float64") == {"rtol": 1e-10, "atol": 1e-12}


# ---- the commands ---------------------------------------------------------------------
def test_write_docs_check_without_the_readme_markers_is_one_line(tmp_path, monkeypatch):
    from benchmarks import write_docs

    (tmp_path / "README.md").write_text("# kernels\n\nno results block here\n")
    monkeypatch.setattr(write_docs, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as stop:
        write_docs.main(["--check"])
    line = str(stop.value.code)
    assert line.startswith("write_docs: README.md has no results block") and "\n" not in line


def test_train_without_out_saves_under_kernels_results_and_evaluate_takes_the_folder(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert (
        main(["train", "--limit", "300", "--valid", "100", "--epochs", "1", "--backend", "numpy"])
        == 0
    )
    (run,) = (tmp_path / "kernels-results").iterdir()
    assert run.name.startswith("train-") and (run / "model.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(run), "--limit", "100"]) == 0
    assert "test error" in capsys.readouterr().out


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(4096), b"a,b,c\n1,2,3\n"])
def test_evaluate_of_a_file_that_is_not_a_model_says_so(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    line = one_line_exit(["evaluate", str(path)], "kernels evaluate: ")
    assert "not a model file" in line and "pickle" not in line


def test_data_path_with_some_files_names_the_missing_ones(tmp_path):
    from kernels.data import SPLITS, locate

    _, directory = locate("train")
    present = SPLITS["train"][0]
    source = next(directory.glob(present + "*"))
    (tmp_path / source.name).write_bytes(source.read_bytes())
    line = one_line_exit(["data", "--path", str(tmp_path)], "kernels data: ")
    missing = [n for names in SPLITS.values() for n in names if n != present]
    assert all(n in line.split("missing")[0] for n in missing) and f"found {present}" in line


def test_a_bad_file_in_the_users_own_folder_is_not_blamed_on_the_cache(tmp_path):
    from kernels.data import SPLITS, DataError, read_verified

    bad = tmp_path / (SPLITS["test"][1] + ".gz")
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DataError) as error:
        read_verified(bad)
    assert "from the cache" not in str(error.value) and f"Replace {bad}" in str(error.value)


def test_agree_refuses_more_examples_than_it_can_compare_in_reasonable_time(capsys):
    line = one_line_exit(["agree", "-n", "999999"], "kernels agree: -n 999999")
    assert "2,000" in line and capsys.readouterr().out == ""


def test_every_subcommand_help_starts_with_what_it_does(capsys):
    import argparse

    parser_commands = (
        "data",
        "agree",
        "report",
        "autotune",
        "compare",
        "scaling",
        "gpu",
        "train",
        "evaluate",
    )
    for command in parser_commands:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        usage_end = text.index("\n\n")
        description = text[usage_end:].strip().split("\n\n")[0]
        assert description and not description.startswith(("positional", "options")), command
    assert argparse


def test_compare_help_lists_the_benchmarks_bench_matches(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "mlp_epoch numba" in text and "softmax numpy" in text


def test_scaling_tables_fit_80_columns_with_whole_backend_names(capsys):
    from kernels.bench.renderers import scaling_summary

    result = json.loads((ROOT / "benchmarks" / "results" / "scaling" / "scaling.json").read_text())
    scaling_summary.print_summary(result)
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 80
    assert "example-lo\n" not in out and "numba-ser\n" not in out
    assert "% roof:" in out and "{" not in out.split("threads:")[1]  # explained; no raw dict


def test_the_reports_first_line_is_whole(capsys):
    from rich.console import Console

    from kernels.bench.renderers import render
    from kernels.bench.rows import Report

    result = Report.load(ROOT / "benchmarks" / "results" / "report-epyc-zen4-2026-12-04.json")
    render.print_report(result, Console(width=80))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Seconds per Fashion-MNIST epoch") and first.endswith("thread(s)")


def test_single_runs_of_the_noise_study_are_one_figure_not_a_range():
    from benchmarks.write_docs import span

    assert span([5.31, 5.34], ".1f") == "5.3" and span([5.3, 5.8], ".1f") == "5.3-5.8"


def test_the_virtual_environment_is_ignored_by_git():
    out = subprocess.run(["git", "check-ignore", "-q", ".venv/"], cwd=ROOT)
    assert out.returncode == 0


# ---- other libraries' arrays: one rule for every kernel ------------------------------
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
