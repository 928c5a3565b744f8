"""The regression check's verdicts, from per-process values (no asv run here: the
measurements themselves are in docs/benchmarking.md's noise study)."""
import numpy as np
import pytest

from kernels.__main__ import main
from kernels.bench import compare


def values(center, spread, n=7, seed=0):
    return list(center * (1 + spread * np.random.default_rng(seed).uniform(-1, 1, n)))


def test_identical_code_is_unchanged():
    assert compare.verdict(values(1.0, 0.01, seed=1), values(1.0, 0.01, seed=2))["verdict"] == "unchanged"


@pytest.mark.parametrize("change,expected", [(1.03, "slower"), (0.95, "faster")])
def test_a_few_percent_is_caught(change, expected):
    record = compare.verdict(values(1.0, 0.01, seed=1), values(change, 0.01, seed=2))
    assert record["verdict"] == expected and record["ratio"] == pytest.approx(change, rel=0.01)


def test_a_significant_but_tiny_change_is_not_reported():
    # every HEAD value above every BASE value, but by 0.5 %: below the smallest reported effect
    assert compare.verdict([1.000] * 3 + [1.001] * 4, [1.005] * 7)["verdict"] == "unchanged"


def test_wide_spread_is_too_noisy_to_tell():
    record = compare.verdict(values(1.0, 0.4, seed=1), values(1.02, 0.4, seed=2))
    assert record["verdict"] == "noisy"


def test_a_ref_that_is_no_commit_is_one_line():
    with pytest.raises(SystemExit) as stop:
        main(["compare", "no-such-ref-xyz", "HEAD"])
    assert str(stop.value.code).startswith("kernels compare: not a commit: 'no-such-ref-xyz'")


def test_the_false_alarm_rate_is_shared_by_the_benchmarks_compared():
    # five of the 49 pairs out of order: p = 0.0055, below 1 % but not below 1 % / 6
    base = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06]
    head = [1.035, 1.045, 1.07, 1.08, 1.09, 1.10, 1.11]
    alone = compare.verdicts({"a": (base, head)})
    among_six = compare.verdicts({n: (base, head if n == "a" else base) for n in "abcdef"})
    assert alone[0]["verdict"] == "slower"
    assert [r["verdict"] for r in among_six] == ["unchanged"] * 6
