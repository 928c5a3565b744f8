"""The ways of the numba epoch measured by autotune (kernels/bench/experiments/
epoch_ways.py): the rounds decide only where one way beat another in every round, the
measurement runs here, and the record's tails and cached bytes reach the epoch (which
trains as numpy does every way: test_mlp_epoch.py)."""

import types

import pytest

pytest.importorskip("numba")
from kernels import record  # noqa: E402
from kernels.bench.experiments import epoch_ways  # noqa: E402
from kernels.ops import blocking  # noqa: E402

MiB = 2**20


def ways(width, blas, padded, ahead, x_bytes=627_200, l2_half=MiB):
    """One dtype's measurement: rounds of each way (seconds)."""
    return {
        "width": width,
        "x_bytes": x_bytes,
        "l2_half": l2_half,
        "blas": blas,
        "padded": padded,
        "ahead": ahead,
    }


FAST, MID, SLOW, LOOSE = [1.00, 1.01, 1.02], [1.05, 1.06, 1.04], [1.2, 1.3, 1.2], [1.0, 1.1, 1.0]


def test_the_tail_is_decided_only_where_one_way_wins_every_round():
    # 8 lanes: dh = 50 leaves 2 columns; BLAS faster in every round
    tails, _ = epoch_ways.decide({"float64": ways(8, FAST, MID, SLOW)})
    assert tails == {"float64": 2}
    # the rounds overlap: undecided, the default stands
    assert epoch_ways.decide({"float32": ways(16, LOOSE, MID, SLOW)})[0] == {}
    # padding faster: tails of 2 or more padded, so at most 1 through BLAS
    assert epoch_ways.decide({"float32": ways(16, SLOW, FAST, SLOW)})[0] == {"float32": 1}
    # BLAS faster for 2 columns of 16: the default, a quarter (4), still stands above 2
    assert epoch_ways.decide({"float32": ways(16, FAST, MID, SLOW)})[0] == {"float32": 4}
    # BLAS faster for 2 of 4 (256-bit float64): more than the default's 1 go through BLAS
    assert epoch_ways.decide({"float64": ways(4, FAST, MID, SLOW)})[0] == {"float64": 2}
    # 2 lanes (128-bit float64): dh = 50 leaves no tail, nothing to decide
    assert epoch_ways.decide({"float64": ways(2, FAST, SLOW, SLOW)})[0] == {}


def test_x_counts_as_cached_where_the_epochs_cached_way_beats_reading_ahead():
    # the cached way the epoch takes (BLAS: just decided) beats reading ahead: K = 100's
    # x, 0.6 MiB, counts as cached, and so does up to the default (1 MiB here)
    assert epoch_ways.decide({"float64": ways(8, FAST, MID, SLOW)})[1] == {"float64": MiB}
    # with half an L2 of 256 KiB (a 512 KiB L2): now up to K = 100's x
    found = epoch_ways.decide({"float64": ways(8, FAST, MID, SLOW, l2_half=MiB // 4)})[1]
    assert found == {"float64": 627_200}
    # reading ahead beats the cached way: less than K = 100's x counts as cached
    found = epoch_ways.decide({"float64": ways(8, MID, SLOW, FAST)})[1]
    assert found == {"float64": 627_199}
    # reading ahead beats padding, a way the epoch does not take (BLAS beat both): cached
    assert epoch_ways.decide({"float64": ways(8, FAST, SLOW, MID)})[1] == {"float64": MiB}
    # the rounds overlap: undecided
    assert epoch_ways.decide({"float64": ways(8, MID, SLOW, LOOSE)})[1] == {}


def test_the_ways_are_measured_in_a_fresh_process(monkeypatch):
    monkeypatch.setattr(epoch_ways, "MINIBATCHES", 2)
    seconds = epoch_ways.measure(rounds=2)
    assert set(seconds) == {"float64", "float32"}
    for timed in seconds.values():
        assert timed["width"] >= 1 and timed["x_bytes"] > 0 and timed["l2_half"] > 0
        assert all(len(timed[w]) == 2 and min(timed[w]) > 0 for w in ("blas", "padded", "ahead"))


def test_the_epoch_takes_the_recorded_ways_else_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    record.forget()
    try:
        assert blocking.tail_most("float32", 16) == 4 and blocking.tail_most("float64", 4) == 1
        assert blocking.cached_bytes("float64") == blocking.half_l2()
        record.save_record({}, tails={"float32": 0}, cached={"float64": 5})
        assert blocking.tail_most("float32", 16) == 0 and blocking.tail_most("float64", 8) == 2
        assert blocking.cached_bytes("float64") == 5
        assert blocking.cached_bytes("float32") == blocking.half_l2()
        # what the report says ran, and how it was chosen
        found = blocking.epoch_ways({"float64": (6, 4, 512), "float32": (4, 3, 256)})
        assert found["float64"]["tail"] == 2 and found["float32"]["tail"] == 0
        assert found["float32"]["tail_from"] != found["float64"]["tail_from"]
        assert found["float64"]["cached"] == 5
        assert found["float32"]["cached_from"] != found["float64"]["cached_from"]
        for name in ("tails", "cached"):
            for bad in ({"float16": 2}, {"float64": -1}, {"float64": 1.5}, [2]):
                with pytest.raises(ValueError, match=name):
                    record.save_record({}, **{name: bad})
    finally:
        record.forget()


def test_autotune_times_the_ways_with_the_blocks_it_measured(monkeypatch):
    from kernels.bench.experiments import tuning

    seen = []

    def fresh(code, minibatches, rounds, env, what):
        seen.append(env)
        return {"float32": ways(16, [1.0] * rounds, [1.2] * rounds, [1.3] * rounds)}

    class Watch:  # what the machine's other work was meanwhile: scripted, not measured
        busy = False

        def __enter__(self):
            return types.SimpleNamespace(busy=Watch.busy, others=1.5 if Watch.busy else 0.0)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(epoch_ways, "run_json", fresh)
    monkeypatch.setattr(tuning.load, "Watch", Watch)
    (tails, cached), seconds = tuning.measure_epoch_ways(
        {"float64": [6, 4, 512], "float32": [8, 3, 512]}
    )
    assert tails == {"float32": 4} and cached == {"float32": MiB} and set(seconds) == {"float32"}
    assert seen == [{"KERNELS_BLOCK": "float64:6x4x512,float32:8x3x512"}]
    assert tuning.measure_epoch_ways({}) == ((tails, cached), seconds) and seen[-1] == {}
    Watch.busy = True  # other work took the machine meanwhile: nothing decided
    assert tuning.measure_epoch_ways({}) == (({}, {}), seconds)
