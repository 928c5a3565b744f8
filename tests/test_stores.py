"""Non-temporal stores (kernels/ops/stores.py): the streaming gradient_norm equals numpy's
with them, and which kind the kernels use is measured on the machine (autotune),
recorded, and forced only by KERNELS_STORES."""

import types

import numpy as np
import pytest

pytest.importorskip("numba")

import kernels  # noqa: E402
from kernels.ops import stores  # noqa: E402


@pytest.mark.parametrize("backend", ["numba", "numba-serial"])
def test_gradient_norm_with_non_temporal_stores_equals_numpy(backend, monkeypatch):
    monkeypatch.setenv("KERNELS_STORES", "nontemporal")
    images = np.random.default_rng(1).random((37, 28, 28))
    whole = np.full((50, 28, 28), np.nan)
    out = whole[5:42]
    assert stores.use_stream_stores(out)
    kernels.get("gradient_norm", backend)(images, out=out)
    np.testing.assert_allclose(out, kernels.get("gradient_norm", "numpy")(images), rtol=1e-12)
    assert np.isnan(whole[:5]).all() and np.isnan(whole[42:]).all()


def test_a_store_kind_that_does_not_exist_is_refused(monkeypatch):
    monkeypatch.setenv("KERNELS_STORES", "streaming")
    with pytest.raises(ValueError, match="nontemporal or ordinary"):
        kernels.get("gradient_norm", "numba")(np.ones((2, 4, 4)))


def test_the_store_kind_measured_here_is_used_unless_one_is_forced(monkeypatch):
    from kernels import record
    from kernels.ops import store_kind

    out = np.zeros((4, 28, 28))
    monkeypatch.delenv("KERNELS_STORES", raising=False)
    assert store_kind.chosen() == ("nontemporal", "default")
    assert stores.use_stream_stores(out) and not stores.use_stream_stores(out[:, ::2])
    record.save_record({}, stores="ordinary")  # what autotune saves where they won
    assert record.recorded_stores() == "ordinary"
    assert store_kind.chosen() == ("ordinary", "measured by autotune")
    assert not stores.use_stream_stores(out)
    monkeypatch.setenv("KERNELS_STORES", "nontemporal")
    assert store_kind.chosen() == ("nontemporal", "KERNELS_STORES")
    # the kernels keep the kind they read first (they ask on every call) until the
    # process forgets the record
    assert not stores.use_stream_stores(out)
    record.forget()
    assert stores.use_stream_stores(out)


def test_an_output_off_its_element_size_gets_ordinary_stores(monkeypatch):
    monkeypatch.delenv("KERNELS_STORES", raising=False)
    raw = np.zeros(4 * 28 * 28 * 8 + 1, np.uint8)
    out = raw[1:].view(np.float64).reshape(4, 28, 28)  # one byte off
    assert not out.flags.aligned and not stores.use_stream_stores(out)
    images = np.random.default_rng(2).random((4, 28, 28))
    kernels.get("gradient_norm", "numba-serial")(images, out=out)
    np.testing.assert_array_equal(out, kernels.get("gradient_norm", "numpy")(images))


def test_a_record_naming_no_store_kind_is_ignored():
    import json

    from kernels import record

    record.record_path().write_text(
        json.dumps({"fingerprint": record.fingerprint(), "results": {}, "stores": "fast"})
    )
    record.forget()
    with pytest.warns(UserWarning, match="'stores' must be one of ordinary, nontemporal"):
        assert record.recorded_stores() is None
    with pytest.raises(ValueError, match="'stores' must be one of"):
        record.save_record({}, stores="streaming")


def _rounds(best, spread=0.0):
    return [best, best * (1 + spread)]


@pytest.mark.parametrize(
    "ordinary, nontemporal, chosen",
    [
        ((1.0, 1.0), (0.8, 0.8), "nontemporal"),  # a clear lead in both dtypes
        ((1.0, 1.0), (1.2, 1.2), "ordinary"),
        ((1.0, 1.0), (0.8, 1.1), None),  # each faster in one dtype: the default stands
        ((1.0, 1.0), (0.97, 0.97), None),  # inside MIN_LEAD: noise decides nothing
    ],
)
def test_autotune_records_a_store_kind_only_on_a_clear_lead(ordinary, nontemporal, chosen):
    from kernels.bench.experiments import store_kinds

    seconds = {
        kind: {dtype: _rounds(t) for dtype, t in zip(("float64", "float32"), times)}
        for kind, times in (("ordinary", ordinary), ("nontemporal", nontemporal))
    }
    assert store_kinds.fastest(seconds) == chosen
    seconds["nontemporal"]["float64"] = _rounds(0.8, spread=0.5)  # a lead inside its spread
    seconds["nontemporal"]["float32"] = _rounds(0.8, spread=0.5)
    assert store_kinds.fastest(seconds) is None


def test_autotune_measures_both_kinds_in_fresh_processes(monkeypatch):
    from kernels.bench.experiments import store_kinds, tuning

    seen = []

    def fresh(code, rounds, env, what):
        seen.append(env["KERNELS_STORES"])
        best = 0.5 if env["KERNELS_STORES"] == "nontemporal" else 1.0
        return {"float64": _rounds(best), "float32": _rounds(best)}

    monkeypatch.setattr(store_kinds, "run_json", fresh)
    monkeypatch.delenv("KERNELS_STORES", raising=False)
    kind, seconds = tuning.measure_stores(quick=True)
    assert kind == "nontemporal" and seen == ["ordinary", "nontemporal"]
    assert set(seconds) == {"ordinary", "nontemporal"}
    monkeypatch.setenv("KERNELS_STORES", "ordinary")  # forced: nothing measured
    assert tuning.measure_stores(quick=True) == (None, {})
    monkeypatch.delenv("KERNELS_STORES")

    class Busy:  # other work took the machine while both kinds were timed
        def __enter__(self):
            return types.SimpleNamespace(busy=True, others=1.5)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(tuning.load, "Watch", Busy)
    kind, seconds = tuning.measure_stores(quick=True)
    assert kind is None and set(seconds) == {"ordinary", "nontemporal"}  # nothing decided
