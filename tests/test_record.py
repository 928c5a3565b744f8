"""The autotune record on disk: concurrent writers, malformed records, an unwritable cache."""

import json
import multiprocessing

import numpy as np
import pytest

import kernels
from kernels import record, select

BACKENDS = kernels.backends("mlp_epoch")


def _writer(path, seed, rounds):
    from kernels import record as r

    r.record_path = lambda: path
    for i in range(rounds):
        r.save_record(
            {
                "softmax": {
                    "float64": {"100": {"numpy": 1e-6 * (seed + 1), "numba": 1e-6 + i * 1e-9}}
                }
            }
        )


def test_concurrent_writers_never_crash_or_tear(tmp_path):
    path = tmp_path / "autotune.json"
    # spawn: the test process may hold jax's threads, and fork after threads can deadlock
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(path, seed, 150)) for seed in range(4)]
    for w in writers:
        w.start()
    torn = reads = 0
    while any(w.is_alive() for w in writers):
        if path.exists():
            reads += 1
            try:
                json.loads(path.read_text())
            except ValueError:
                torn += 1
    for w in writers:
        w.join()
    assert [w.exitcode for w in writers] == [0] * 4
    assert torn == 0 and reads > 0
    assert not list(tmp_path.glob(".autotune-*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "results",
    [
        {"softmax": []},
        {"softmax": {"float64": {"100": {"numpy": float("nan")}}}},
        {"softmax": {"float64": {"100": {"numpy": -1.0}}}},
        {"softmax": {"float64": {"100": {"numpy": True}}}},
        {"softmax": {"float64": {"100": {"numpy": "fast"}}}},
        [],
    ],
)
def test_malformed_record_with_this_fingerprint_is_ignored(results):
    record.record_path().write_text(
        json.dumps({"fingerprint": record.fingerprint(), "results": results})
    )
    with pytest.warns(UserWarning, match="ignoring the unreadable autotune record"):
        name, why = select.choose("softmax")
    assert why == "shipped ranking"
    assert kernels.softmax(np.zeros(2)).tolist() == [0.5, 0.5]


def test_autotune_refuses_an_unwritable_cache_before_timing(monkeypatch):
    from kernels.bench.experiments import tuning

    monkeypatch.setattr(
        record, "record_path", lambda: __import__("pathlib").Path("/dev/null/x/autotune.json")
    )
    timed = []
    monkeypatch.setattr(tuning, "measure_point", lambda *a, **k: timed.append(1))
    with pytest.raises(OSError, match="cannot write the autotune record in /dev/null/x"):
        tuning.autotune(kernels=("softmax",), progress=False)
    assert not timed


def test_a_record_of_other_thread_conditions_keeps_only_its_single_core_choices(monkeypatch):
    from kernels.ops import store_kind

    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.delenv("KERNELS_STORES", raising=False)
    fast = {"softmax": {"float64": {"100": {"numpy": 1e-9, "numba": 1.0}}}}
    blocks = {"float64": [8, 3, 512], "float32": [6, 4, 512]}
    record.save_record(fast, blocks=blocks, stores="nontemporal", tails={"float32": 4})
    assert select.choose("softmax")[0] == "numpy"  # measured here: all of it holds
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")  # a pinned check under other threads
    record.forget()
    with pytest.warns(UserWarning, match="only the single-core choices.*thread setting"):
        assert record.recorded_blocks() == blocks
    assert record.recorded_stores() == "nontemporal" and record.recorded_tails() == {"float32": 4}
    assert store_kind.chosen() == ("nontemporal", "measured by autotune")
    assert select.choose("softmax")[1] == "shipped ranking"  # its backend choices do not


def test_a_record_of_another_machine_gives_nothing(monkeypatch):
    blocks = {"float64": [8, 3, 512], "float32": [6, 4, 512]}
    record.save_record({}, blocks=blocks, stores="nontemporal")
    from kernels import machine

    monkeypatch.setattr(machine, "cpu_model", lambda: "another CPU")
    record.forget()
    with pytest.warns(UserWarning, match="another machine or version"):
        assert record.recorded_blocks() is None
    assert record.recorded_stores() is None
