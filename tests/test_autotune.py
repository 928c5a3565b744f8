"""Autotune's measurement: the record a run writes and later processes use, the spread of
the paired ratio, and passes added only while a lead is within its spread."""

import json

import pytest
from conftest import run_python

import kernels
from kernels import select

HAS_NUMBA = all("numba" in kernels.available(k) for k in kernels.KERNELS)
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba cannot run here")


def tuning_candidates(kernel):
    from kernels.bench.experiments.passes import candidates

    return candidates(kernel)


def test_autotune_writes_a_record_that_later_processes_use(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    run_python(
        """
        from kernels.bench.experiments import tuning
        from kernels.bench.timing import load
        # what is tested here is the record, not the busy-machine gate (tests/test_busy_machine.py)
        load.BOUND = tuning.SPREAD_BOUND = tuning.FORK_JOIN_BOUND = float("inf")
        tuning.autotune(kernels=("softmax",), dtypes=("float64",), quick=True, progress=False)
    """,
        env=env,
    )
    record = json.loads((tmp_path / "kernels" / "autotune.json").read_text())
    timings = record["results"]["softmax"]["float64"]["100"]
    # every backend that could win is timed (those over CONTENDER x slower in the probe are not)
    assert select.ranked("softmax") in timings and set(timings) <= set(tuning_candidates("softmax"))
    assert all(t > 0 for t in timings.values())
    out, _ = run_python(
        """
        from kernels import record, select
        print(select.choose("softmax"))
    """,
        env=env,
    )
    backend, why = eval(out)
    assert backend in timings and "autotune record" in why
    from kernels.bench.settings import effort

    assert set(record["results"]["softmax"]["float64"]) == {
        str(K) for K in effort("autotune", True).sizes
    }
    assert record["noise"]["softmax"]["float64"]["100"]["tries"] >= 1
    assert set(record["spread"]["softmax"]["float64"]["100"]) <= set(timings)


@needs_numba
def test_the_spread_is_that_of_the_paired_ratio():
    from kernels.bench.experiments import passes

    # a neighbour slows pass 2 for both backends alike: numpy is 20 % faster in every pass
    times = {"numba": [1.0, 2.0, 1.5], "numpy": [0.8, 1.6, 1.2]}
    assert passes.spreads("softmax", times) == {"numpy": pytest.approx(0.0)}
    medians = {b: sorted(t)[1] for b, t in times.items()}
    assert (
        select.choose_from("softmax", medians, passes.spreads("softmax", times), "")[0] == "numpy"
    )
    # numpy's lead wanders from 5 % to 25 % between passes: a 1.18x margin is a tie
    times = {"numba": [1.0, 1.0, 1.0], "numpy": [0.8, 0.95, 0.85]}
    assert passes.spreads("softmax", times)["numpy"] == pytest.approx(0.95 / 0.8 - 1)


@needs_numba
def test_autotune_adds_passes_only_while_the_lead_is_within_its_spread(monkeypatch):
    from kernels.bench.experiments import passes

    calls = {"numba": 0, "numpy": 0}
    lead = {"numpy": iter([0.80, 1.05, 0.81, 0.80, 0.81])}  # one pass hit by a burst

    def fake_time_runs(work, fn, batches, repeats):
        backend = next(b for b in ("numba", "numpy") if fn is kernels.get("softmax", b))
        if batches == 1 and work.n == work.K:  # the probe before the passes
            return [1e-4] * repeats
        if repeats == 1:  # the contenders' probe: all alike
            return [work.n * 1e-6]
        calls[backend] += 1
        return [work.n * (next(lead[backend]) if backend in lead else 1.0)] * repeats

    monkeypatch.setattr(passes, "time_runs", fake_time_runs)
    monkeypatch.setattr(passes, "candidates", lambda kernel: ["numba", "numpy"])
    monkeypatch.setattr(passes, "settle", lambda work, fn: None)
    # a 1.24x lead within the 31 % spread the burst makes: more passes, until five outvote it
    times = passes.measure_point("softmax", "float64", 100, 0.01, 2.0)
    assert len(times["numba"]) == len(times["numpy"]) == 5
    assert passes.spreads("softmax", times)["numpy"] == pytest.approx(0.81 / 0.80 - 1)
    lead["numpy"] = iter([0.80, 0.95, 0.85, 0.93, 0.87, 0.94, 0.84, 0.92, 0.86])  # it wanders
    times = passes.measure_point("softmax", "float64", 100, 0.01, 2.0)
    assert len(times["numpy"]) == passes.MAX_PASSES
    medians = {b: sorted(t)[len(t) // 2] for b, t in times.items()}
    assert (
        select.choose_from("softmax", medians, passes.spreads("softmax", times), "")[0] == "numba"
    )
    lead["numpy"] = iter([0.80, 0.81, 0.80])  # a clear 1.24x lead
    assert len(passes.measure_point("softmax", "float64", 100, 0.01, 2.0)["numpy"]) == passes.PASSES
    lead["numpy"] = iter([0.99, 1.01, 0.98])  # no lead worth resolving
    assert len(passes.measure_point("softmax", "float64", 100, 0.01, 2.0)["numpy"]) == passes.PASSES
