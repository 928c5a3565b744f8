"""The column tail measured by autotune (kernels/bench/experiments/tails.py): the rounds
decide only where one way beat the other in every round, the measurement runs here, and
the record's tails reach the numba epoch (which trains as numpy does either way:
test_mlp_epoch.py)."""

import types

import pytest

pytest.importorskip("numba")
from kernels import record  # noqa: E402
from kernels.bench.experiments import tails  # noqa: E402
from kernels.ops import blocking  # noqa: E402


def test_the_rounds_decide_only_where_one_way_wins_every_round():
    seconds = {
        # 8 lanes: dh = 50 leaves 2 columns; BLAS faster in every round
        "float64": {"width": 8, "blas": [1.00, 1.01, 1.02], "padded": [1.05, 1.06, 1.04]},
        # 16 lanes, 2 columns; the rounds overlap: undecided, the default stands
        "float32": {"width": 16, "blas": [1.00, 1.10, 1.00], "padded": [1.05, 1.02, 1.04]},
    }
    assert tails.decide(seconds) == {"float64": 2}
    # padding faster in every round: tails of 2 or more padded, so at most 1 through BLAS
    seconds["float32"] = {"width": 16, "blas": [1.2, 1.3, 1.2], "padded": [1.0, 1.01, 1.0]}
    assert tails.decide(seconds)["float32"] == 1
    # BLAS faster for 2 columns of 16: the default, a quarter (4), still stands above 2
    seconds["float32"] = {"width": 16, "blas": [1.0, 1.0, 1.0], "padded": [1.1, 1.1, 1.1]}
    assert tails.decide(seconds)["float32"] == 4
    # BLAS faster for 2 of 4 (256-bit float64): more than the default's 1 go through BLAS
    seconds["float64"] = {"width": 4, "blas": [1.0, 1.0, 1.0], "padded": [1.1, 1.1, 1.1]}
    assert tails.decide(seconds)["float64"] == 2
    # 2 lanes (128-bit float64): dh = 50 leaves no tail, nothing to decide
    assert tails.decide({"float64": {"width": 2, "blas": [1.0], "padded": [2.0]}}) == {}


def test_the_tails_are_measured_in_a_fresh_process(monkeypatch):
    monkeypatch.setattr(tails, "MINIBATCHES", 2)
    seconds = tails.measure(rounds=2)
    assert set(seconds) == {"float64", "float32"}
    for timed in seconds.values():
        assert timed["width"] >= 1 and set(timed) == {"width", "blas", "padded"}
        assert all(len(timed[way]) == 2 and min(timed[way]) > 0 for way in ("blas", "padded"))


def test_the_epoch_takes_the_recorded_tails_else_a_quarter_of_a_vector(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    record.forget()
    try:
        assert blocking.tail_most("float32", 16) == 4 and blocking.tail_most("float64", 4) == 1
        record.save_record({}, tails={"float32": 0})
        assert blocking.tail_most("float32", 16) == 0 and blocking.tail_most("float64", 8) == 2
        # what the report says ran, and how it was chosen
        assert blocking.tails({"float64": (6, 4, 512), "float32": (4, 3, 256)}) == {
            "float64": (2, "a quarter of a vector"),
            "float32": (0, "measured by autotune"),
        }
        for bad in ({"float16": 2}, {"float64": -1}, {"float64": 1.5}, [2]):
            with pytest.raises(ValueError, match="tails"):
                record.save_record({}, tails=bad)
    finally:
        record.forget()


def test_autotune_times_the_tails_with_the_blocks_it_measured(monkeypatch):
    from kernels.bench.experiments import tuning

    seen = []

    def fresh(code, minibatches, rounds, env, what):
        seen.append(env)
        return {"float32": {"width": 16, "blas": [1.0] * rounds, "padded": [1.2] * rounds}}

    monkeypatch.setattr(tails, "run_json", fresh)
    chosen, seconds = tuning.measure_tails({"float64": [6, 4, 512], "float32": [8, 3, 512]})
    assert chosen == {"float32": 4} and set(seconds) == {"float32"}
    assert seen == [{"KERNELS_BLOCK": "float64:6x4x512,float32:8x3x512"}]
    assert tuning.measure_tails({}) == (chosen, seconds) and seen[-1] == {}  # the table's

    class Busy:  # other work took the machine meanwhile: nothing decided
        def __enter__(self):
            return types.SimpleNamespace(busy=True, others=1.5)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(tuning.load, "Watch", Busy)
    assert tuning.measure_tails({}) == ({}, seconds)
