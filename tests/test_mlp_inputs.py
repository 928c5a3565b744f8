"""The MLP kernels' inputs: parameters made and checked, bad calls refused before any
change, divergence named, evaluation's sets checked."""

import itertools

import numpy as np
import pytest
from conftest import runnable

import kernels
from kernels import mlp

BACKENDS = kernels.backends("mlp_fprop")
PAIRS = list(itertools.combinations(BACKENDS, 2))


def test_init_params():
    p = mlp.init_params(d=784, dh=50, m=10, seed=0)
    assert p.W1.shape == (50, 784) and p.b1.shape == (50,)
    assert p.W2.shape == (10, 50) and p.b2.shape == (10,)
    assert np.all(np.abs(p.W1) <= 1 / np.sqrt(784)) and np.all(np.abs(p.W2) <= 1 / np.sqrt(50))
    assert np.abs(p.W1).max() > 0.9 / np.sqrt(784)  # uniform over the whole range
    assert not p.b1.any() and not p.b2.any()
    np.testing.assert_array_equal(p.W1, mlp.init_params(seed=0).W1)
    assert not np.array_equal(p.W1, mlp.init_params(seed=1).W1)
    assert mlp.init_params(dtype=np.float32).W2.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(activation="sigmoid"), ValueError, "relu, tanh, softplus"),
        (dict(dh=0), ValueError, "dh must be a positive integer"),
        (dict(dtype=np.int64), TypeError, "float32 or float64"),
    ],
)
def test_init_params_refuses(kwargs, error, message):
    with pytest.raises(error, match=message):
        mlp.init_params(**kwargs)


def test_params_refuses_inconsistent_arrays():
    p = mlp.init_params(d=4, dh=3, m=2)
    with pytest.raises(ValueError, match=r"W1 \(dh, d\), b1 \(dh,\)"):
        mlp.Params(p.W1, np.zeros(4), p.W2, p.b2)
    with pytest.raises(TypeError, match="share one dtype"):
        mlp.Params(p.W1, p.b1.astype(np.float32), p.W2, p.b2)
    with pytest.raises(ValueError, match="C-contiguous"):
        mlp.Params(np.asfortranarray(p.W1), p.b1, p.W2, p.b2)


def bad_calls():
    """(kernel, keyword overrides, error, message): each must fail before any change."""
    return [
        ("mlp_epoch", dict(y=np.full(20, 10)), ValueError, r"labels must lie in \[0, 10\)"),
        ("mlp_epoch", dict(y=np.full(20, -1)), ValueError, r"labels must lie in \[0, 10\)"),
        ("mlp_epoch", dict(y=np.zeros(19, int)), ValueError, "one label per row"),
        ("mlp_epoch", dict(y=np.zeros(20)), TypeError, "integer class labels"),
        ("mlp_epoch", dict(X=np.zeros((20, 783))), ValueError, "d = 784 features"),
        ("mlp_epoch", dict(X=np.zeros((20, 784), np.float32)), TypeError, "dtype float32"),
        ("mlp_epoch", dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
        ("mlp_epoch", dict(batch_size=2.5), ValueError, "batch_size must be an integer >= 1"),
        ("mlp_epoch", dict(lr=np.nan), ValueError, "lr must be finite"),
        ("mlp_epoch", dict(lr=np.inf), ValueError, "lr must be finite"),
        ("mlp_epoch", dict(lr=-0.1), ValueError, "lr must be finite and >= 0"),
        ("mlp_epoch", dict(lam=-1.0), ValueError, "lam must be finite and >= 0"),
        ("mlp_epoch", dict(lr="0.1"), TypeError, "lr must be a real number"),
        ("mlp_epoch", dict(lr=10**400), ValueError, "lr must be finite"),
        ("mlp_epoch", dict(lam=10**400), ValueError, "lam must be finite"),
        ("mlp_epoch", dict(X="W1 itself"), ValueError, "shares memory with the parameter W1"),
        ("mlp_epoch", dict(p="W2 inside W1"), ValueError, "parameters W1 and W2 share memory"),
        ("mlp_epoch", dict(X=np.zeros((0, 784)), y=np.zeros(0, int)), ValueError, "empty"),
        ("mlp_epoch", dict(p="params"), TypeError, "kernels.mlp.Params"),
        ("mlp_fprop", dict(x=np.zeros(784)), ValueError, r"shape \(K, d\)"),
        ("mlp_bprop", dict(fwd="forward"), TypeError, "Forward returned by fprop"),
        ("mlp_bprop", dict(fwd="other batch"), ValueError, "fwd does not match this minibatch"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(len(bad_calls())))
def test_bad_input_is_refused_before_any_change(backend, case, train):
    kernel, overrides, error, message = bad_calls()[case]
    fn = runnable(kernel, backend)
    p = mlp.init_params(dh=4)
    before = p.copy()
    X, y = train[0][:20], train[1][:20]
    fprop = kernels.get("mlp_fprop", "numpy")
    args = {
        "mlp_epoch": dict(p=p, X=X, y=y, batch_size=10, lr=0.1, lam=0.0),
        "mlp_fprop": dict(p=p, x=X, y=y, lam=0.0),
        "mlp_bprop": dict(p=p, x=X, y=y, fwd=fprop(p, X, y), lam=0.0),
    }[kernel]
    if isinstance(overrides.get("fwd"), str) and overrides["fwd"] == "other batch":
        overrides = dict(fwd=fprop(p, X[:5], y[:5]))
    if isinstance(overrides.get("X"), str):  # "W1 itself": the epoch would read rows it updates
        p = mlp.init_params(d=4, dh=4)
        before = p.copy()
        args.update(p=p, y=np.zeros(4, int))
        overrides = dict(X=p.W1)
    if overrides.get("p") == "W2 inside W1":  # numba would write W1 back over W2
        W2 = p.W1.reshape(-1)[:40].reshape(10, 4)
        p = mlp.Params(p.W1, p.b1, W2, p.b2)
        before = p.copy()
        overrides = dict(p=p)
    args.update(overrides)
    with pytest.raises(error, match=message):
        fn(*args.values())
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before.arrays()[name])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and inf on purpose
@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_names_the_minibatch_and_leaves_p_as_before(backend, train):
    fn = runnable("mlp_epoch", backend)
    X = np.array(train[0][:25])
    X[17, 5] = np.nan  # poisons minibatch 1 (rows 10-19)
    y = train[1][:25]
    p = mlp.init_params(dh=4)
    before = p.copy()
    with pytest.raises(
        mlp.DivergenceError, match="loss became nan at minibatch 1 .*examples 10 to 19"
    ):
        fn(p, X, y, batch_size=10, lr=0.1)
    for name, a in p.arrays().items():  # all or nothing
        np.testing.assert_array_equal(a, before.arrays()[name], err_msg=name)
    X[17, 5] = 0.0
    X[23, 0] = np.inf  # the short last minibatch (20-24)
    with pytest.raises(mlp.DivergenceError, match="minibatch 2 .*examples 20 to 24\\)"):
        fn(p, X, y, batch_size=10, lr=0.1)


@pytest.mark.parametrize(
    "rows,labels,message",
    [
        (0, 0, "empty"),
        (10_001, 10_000, "one label"),
        (20_000, 10_000, "one label"),
        (5, 6, "one label"),
    ],
)
def test_evaluate_refuses_empty_or_mismatched_sets(rows, labels, message):
    p = mlp.init_params(d=3, dh=2, m=2)
    with pytest.raises(ValueError, match=message):
        mlp.evaluate(p, np.zeros((rows, 3)), np.zeros(labels, int))


def test_masked_minibatch_is_refused():
    X, y = np.zeros((5, 6)), np.zeros(5, int)
    with pytest.raises(TypeError, match="masked"):
        kernels.get("mlp_fprop", "numpy")(mlp.init_params(d=6, dh=4, m=3), np.ma.masked_array(X), y)
