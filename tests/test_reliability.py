"""The eight reliability points: all-or-nothing epochs, any batch size, divergence caught
in training, a concurrency-safe and schema-checked autotune record, exact float64
updates, and every CLI failure as one line with a non-zero exit."""

import json
import warnings

import numpy as np
import pytest
from conftest import one_line_exit, runnable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from kernels import mlp

BACKENDS = kernels.backends("mlp_epoch")


def small_data(n=23, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, n)


def assert_same(p, before):
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before.arrays()[name], err_msg=name)


# 1. a run that blew up is refused and never saved -----------------------------------


def test_blown_up_training_run_exits_non_zero_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "x"
    one_line_exit(
        "train --limit 1000 --valid 100 --epochs 1 --lr 1e6 --out".split() + [str(out)],
        "kernels train: training diverged in epoch 1",
    )
    assert not (out / "model.npz").exists()


# 2. any batch_size >= 1, equal results in every backend --------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_size_larger_than_the_data_is_one_minibatch(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p, q = mlp.init_params(d=6, dh=4, m=3), mlp.init_params(d=6, dh=4, m=3)
    loss = fn(p, X, y, batch_size=10**8, lr=0.1)
    reference = kernels.get("mlp_epoch", "numpy")(q, X, y, batch_size=len(X), lr=0.1)
    np.testing.assert_allclose(loss, reference, rtol=1e-12)
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-10, atol=1e-12)


# 3. an epoch that fails part-way leaves p exactly as it was -----------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflowing_learning_rate_leaves_p_unchanged(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    before = p.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow is the point
        with pytest.raises(mlp.DivergenceError, match="parameters are as they were"):
            fn(p, X, y, batch_size=5, lr=1e300)
    assert_same(p, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["b2", "W1"])
def test_read_only_parameter_is_refused_before_any_update(backend, which):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    getattr(p, which).flags.writeable = False
    before = p.copy()
    with pytest.raises(ValueError, match=f"C-contiguous and writeable .*; {which} is not"):
        fn(p, X, y, batch_size=5, lr=0.1)
    assert_same(p, before)


@pytest.mark.parametrize(
    "backend", [b for b in BACKENDS if not kernels.registry.entry("mlp_epoch", b).slow]
)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    row=st.integers(0, 22),
    batch_size=st.integers(1, 30),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    activation=st.sampled_from(mlp.ACTIVATIONS),
)
def test_property_a_failed_epoch_leaves_p_untouched(backend, row, batch_size, bad, activation):
    """A NaN shows in the loss of its own minibatch; an inf may not (tanh(inf) = 1) and
    poisons the update instead: either way the epoch fails and p is as before."""
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    X[row, 2] = bad
    p = mlp.init_params(d=6, dh=4, m=3, activation=activation)
    before = p.copy()
    expected = (
        f"minibatch {row // min(batch_size, 23)} " if np.isnan(bad) else "diverged|NaN or infinite"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(mlp.DivergenceError, match=expected):
            fn(p, X, y, batch_size=batch_size, lr=0.1)
    assert_same(p, before)


def test_interrupted_epoch_restores_p(monkeypatch):
    from kernels.ops.mlp import vectorized

    X, y = small_data()
    p = mlp.init_params(d=6, dh=4, m=3)
    before = p.copy()
    calls = []

    def failing_update(p, g, lr):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        vectorized.update(p, g, lr)

    epoch = mlp.epoch_kernel(mlp.sgd_loop(vectorized.forward, vectorized.backward, failing_update))
    with pytest.raises(KeyboardInterrupt):
        epoch(p, X, y, batch_size=5, lr=0.1)
    assert len(calls) == 3
    assert_same(p, before)


# 4. concurrent autotune writers and readers ---------------------------------------------


# 5. a malformed record warns and falls back ---------------------------------------------


# 6. float64 updates stay float64; a non-contiguous W1 is refused ------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_scalars_do_not_lower_a_float64_update(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p, q = mlp.init_params(d=6, dh=4, m=3), mlp.init_params(d=6, dh=4, m=3)
    fn(p, X, y, batch_size=5, lr=np.float32(0.1), lam=np.float32(0.01))
    fn(q, X, y, batch_size=5, lr=float(np.float32(0.1)), lam=float(np.float32(0.01)))
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_contiguous_W1_is_refused(backend):
    fn = runnable("mlp_epoch", backend)
    X, y = small_data()
    p = mlp.init_params(d=6, dh=6, m=3)
    p.W1 = np.asfortranarray(p.W1)  # reassigned after construction
    before = p.W1.copy()
    with pytest.raises(ValueError, match="W1 is not"):
        fn(p, X, y, batch_size=5, lr=0.1)
    np.testing.assert_array_equal(p.W1, before)


# 7. CLI failures are one line and a non-zero exit ---------------------------------------


def test_unreadable_data_directory(monkeypatch, tmp_path, capsys):
    from pathlib import Path

    real = Path.is_file

    def denied(self):
        if str(self).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "is_file", denied)
    from kernels.data import DataError, load_fashion_mnist

    with pytest.raises(
        DataError, match=f"cannot look for .* in {tmp_path} \\(Permission denied\\)"
    ):
        load_fashion_mnist("test", path=tmp_path)
    one_line_exit(["data", "--path", str(tmp_path)], "kernels data: cannot look for")


def test_train_into_an_impossible_directory():
    one_line_exit(
        ["train", "--limit", "100", "--valid", "10", "--out", "/dev/null/x"],
        "kernels train: [Errno 20] Not a directory",
    )


def test_evaluate_on_bad_model_files(tmp_path):
    truncated = tmp_path / "truncated.npz"
    np.savez(truncated, W1=np.zeros(3), summary="{}")
    truncated.write_bytes(truncated.read_bytes()[:40])
    one_line_exit(
        ["evaluate", str(truncated)], f"kernels evaluate: {truncated} is not a readable model"
    )
    without_w1 = tmp_path / "no_w1.npz"
    settings_json = json.dumps({"settings": {"hidden": 4}})
    np.savez(
        without_w1, summary=settings_json, feature_mean=np.zeros(784), feature_std=np.ones(784)
    )
    one_line_exit(
        ["evaluate", str(without_w1)], f"kernels evaluate: {without_w1} is not a readable"
    )
    one_line_exit(["evaluate", str(tmp_path / "none.npz")], "kernels evaluate: no model file")


@pytest.mark.parametrize("spec", ["softmax:", "softmax:torch", "nope"])
def test_bad_backend_choice_in_report(monkeypatch, spec):
    monkeypatch.setenv("KERNELS_BACKEND", spec)
    one_line_exit(
        ["report", "--quick", "--examples", "100", "--kernels", "softmax"], "kernels report:"
    )


# 8. the minor ones -----------------------------------------------------------------------


def test_empty_backend_in_environment_is_an_error(monkeypatch):
    monkeypatch.setenv("KERNELS_BACKEND", "softmax:")
    with pytest.raises(ValueError, match="cannot read 'softmax:'"):
        kernels.fastest("softmax")


@pytest.mark.parametrize("kernel,shape", [("gradient_norm", (2, 3, 3)), ("softmax", (2, 3))])
def test_masked_arrays_are_refused(kernel, shape):
    masked = np.ma.masked_array(np.zeros(shape), mask=np.zeros(shape, bool))
    for backend in kernels.available(kernel):
        with pytest.raises(TypeError, match="masked arrays"):
            kernels.get(kernel, backend)(masked)


def test_masked_minibatch_is_refused():
    X, y = small_data()
    with pytest.raises(TypeError, match="masked"):
        kernels.get("mlp_fprop", "numpy")(mlp.init_params(d=6, dh=4, m=3), np.ma.masked_array(X), y)
