"""The regression check's verdicts, from per-process values (no asv run here: the
measurements themselves are in docs/benchmarking.md's noise study)."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import one_line_exit

from kernels.bench.experiments import compare, verdicts
from kernels.cli import main


def values(center, spread, n=7, seed=0):
    return list(center * (1 + spread * np.random.default_rng(seed).uniform(-1, 1, n)))


def test_identical_code_is_unchanged():
    assert (
        verdicts.verdict(values(1.0, 0.01, seed=1), values(1.0, 0.01, seed=2))["verdict"]
        == "unchanged"
    )


@pytest.mark.parametrize("change,expected", [(1.03, "slower"), (0.95, "faster")])
def test_a_few_percent_is_caught(change, expected):
    record = verdicts.verdict(values(1.0, 0.01, seed=1), values(change, 0.01, seed=2))
    assert record["verdict"] == expected and record["ratio"] == pytest.approx(change, rel=0.01)


def test_a_significant_but_tiny_change_is_not_reported():
    # every HEAD value above every BASE value, but by 0.5 %: below the smallest reported effect
    assert verdicts.verdict([1.000] * 3 + [1.001] * 4, [1.005] * 7)["verdict"] == "unchanged"


def test_wide_spread_is_too_noisy_to_tell():
    record = verdicts.verdict(values(1.0, 0.4, seed=1), values(1.02, 0.4, seed=2))
    assert record["verdict"] == "noisy"


def test_a_ref_that_is_no_commit_is_one_line():
    one_line_exit(
        ["compare", "no-such-ref-xyz", "HEAD"], "kernels compare: not a commit: 'no-such-ref-xyz'"
    )


def test_the_false_alarm_rate_is_shared_by_the_benchmarks_compared():
    # five of the 49 pairs out of order: p = 0.0055, below 1 % but not below 1 % / 6
    base = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06]
    head = [1.035, 1.045, 1.07, 1.08, 1.09, 1.10, 1.11]
    alone = verdicts.verdicts({"a": (base, head)})
    among_six = verdicts.verdicts({n: (base, head if n == "a" else base) for n in "abcdef"})
    assert alone[0]["verdict"] == "slower"
    assert [r["verdict"] for r in among_six] == ["unchanged"] * 6


@pytest.mark.parametrize("n, rounds", [(1, 5), (2, 5), (6, 6)])
def test_the_fewest_rounds_that_can_flag_anything(n, rounds):
    """With r + r values the smallest one-sided p is 1 / C(2r, r): below 1 % / n first at
    r = rounds; a comparison with one round fewer could never say `slower`."""
    assert verdicts.min_rounds(n) == rounds
    separated = verdicts.verdicts(
        {
            str(i): (
                [1.0 + j / 1000 for j in range(rounds)],
                [1.1 + j / 1000 for j in range(rounds)],
            )
            for i in range(n)
        }
    )
    assert {r["verdict"] for r in separated} == {"slower"}
    fewer = verdicts.verdicts(
        {
            str(i): (
                [1.0 + j / 1000 for j in range(rounds - 1)],
                [1.1 + j / 1000 for j in range(rounds - 1)],
            )
            for i in range(n)
        }
    )
    assert {r["verdict"] for r in fewer} != {"slower"}


def test_the_selection_is_what_asv_selects():

    root = Path(__file__).resolve().parents[1]
    everything = compare.selected(None, root)
    assert len(everything) == 6
    assert compare.selected("softmax", root) == [b for b in everything if "softmax" in b]
    assert compare.selected("mlp_epoch numba", root) == ["mlp_epoch numba"]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["HEAD~1", "HEAD", "--bench", "softmax", "--rounds", "3"], "use --rounds 5 or more"),
        (["HEAD~1", "HEAD", "--rounds", "5"], "use --rounds 6 or more"),
        (["HEAD", "HEAD"], "the same commit"),
        (["HEAD~1", "HEAD", "--rounds", str(10**12)], "is over"),
        (["HEAD~1", "HEAD", "--bench", "no-such-benchmark"], "matches none"),
        (["HEAD~1", "HEAD", "--bench", "(unclosed"], "not a regular expression"),
        (
            ["HEAD~1", "HEAD", "--json", "/no/such/folder/out.json"],
            "cannot write /no/such/folder/out.json",
        ),
    ],
)
def test_a_comparison_that_cannot_decide_or_save_is_refused_before_asv_runs(
    argv, says, monkeypatch
):
    ran = []
    monkeypatch.setattr(compare, "run_once", lambda *a, **k: ran.append(a) or {})
    assert says in one_line_exit(["compare", *argv], "kernels compare: ")
    assert ran == []


def test_asv_runs_through_this_interpreter(monkeypatch):
    """Not whichever asv is on PATH: a virtual environment's python called directly works."""
    import sys

    seen = []

    def fake(command, **kwargs):
        seen.append(command)
        return subprocess.CompletedProcess(command, 1, "", "no")

    monkeypatch.setattr(compare.subprocess, "run", fake)
    compare.machine_name.cache_clear()
    with pytest.raises(RuntimeError):
        compare.run_once("HEAD", None)
    compare.machine_name.cache_clear()
    assert seen and all(c[:3] == [sys.executable, "-m", "asv"] for c in map(list, seen))


@pytest.mark.parametrize(
    "base, head",
    [
        ([], [1.0]),
        ([1.0], []),
        ([float("nan")] * 3, [1.0] * 3),
        ([1.0] * 3, [float("inf")] * 3),
        ([0.0] * 3, [1.0] * 3),
        ([1.0] * 3, [-1.0] * 3),
    ],
)
def test_the_verdict_refuses_values_that_are_not_measurements(base, head):
    with pytest.raises(ValueError, match="values"):
        verdicts.verdict(base, head)


def test_one_outlying_process_of_nine_does_not_make_a_figure_noisy():
    steady = [1.00, 1.01, 0.99, 1.00, 1.02, 0.98, 1.01, 1.00, 0.99]
    hit = steady[:4] + [2.6] + steady[5:]  # one process a neighbour hit
    assert verdicts.verdict(steady, hit)["verdict"] == "unchanged"
    wandering = [1.0, 1.3, 0.8, 1.25, 0.85, 1.2, 0.9, 1.35, 0.75]
    assert verdicts.verdict(steady, wandering)["verdict"] == "noisy"


@pytest.mark.parametrize("kernel, expected", [("softmax", np.exp), ("gradient_norm", lambda a: a)])
def test_each_streaming_kernel_is_normalised_by_work_of_its_own_nature(kernel, expected):
    """softmax: the exponentials of the same elements into the same output; gradient_norm:
    a copy of the same bytes (a neighbour on the memory bus slows both sides alike)."""
    from benchmarks.normalised import reference
    from kernels.bench.specs import SPECS
    from kernels.bench.workloads import Workload

    work = Workload(kernel, K=100, dtype="float64", n=300, stream=SPECS[kernel].streams)
    reference(work)()
    np.testing.assert_allclose(work.out[:300], expected(np.concatenate(work.inputs["blocks"])))


def test_no_benchmark_gives_no_verdict():
    assert verdicts.verdicts({}) == []


def test_a_slower_head_exits_1_and_an_error_2(monkeypatch):
    """A CI gate tells a regression (1) from a mistake (2, as argparse's usage errors)."""
    slower = [
        {
            "benchmark": "normalised.Normalised.track_ratio('softmax numba')",
            "base": 1.0,
            "head": 1.2,
            "ratio": 1.2,
            "p_slower": 1e-4,
            "p_faster": 1.0,
            "spread": 0.01,
            "verdict": "slower",
            "evidence": "scripted",
        }
    ]
    monkeypatch.setattr(compare, "compare", lambda *a, **k: slower)
    assert main(["compare", "HEAD~1", "HEAD"]) == 1
    monkeypatch.setattr(compare, "compare", lambda *a, **k: [dict(slower[0], verdict="unchanged")])
    assert main(["compare", "HEAD~1", "HEAD"]) == 0
    monkeypatch.undo()
    one_line_exit(["compare", "no-such-ref-xyz", "HEAD"], "kernels compare: not a commit")


def test_compare_help_lists_the_benchmarks_bench_matches(capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "mlp_epoch numba" in text and "softmax numpy" in text
