"""MLP: every backend against every other, finite differences, PyTorch autograd,
real Fashion-MNIST epochs, learning, and refused input."""
import functools
import itertools

import numpy as np
import pytest

import kernels
from kernels import mlp
from kernels.data import load_fashion_mnist

from conftest import runnable, tol

BACKENDS = kernels.backends("mlp_fprop")
PAIRS = list(itertools.combinations(BACKENDS, 2))


@functools.lru_cache(maxsize=None)
def batch(K, dtype):
    X, y = load_fashion_mnist("train", dtype=dtype)
    return X[1000:1000 + K], y[1000:1000 + K]


@functools.lru_cache(maxsize=None)
def outputs(backend, K, activation, lam, dtype):
    """fprop and bprop of one backend on real images (dh = 8 keeps the loops quick)."""
    p = mlp.init_params(dh=8, seed=3, dtype=dtype, activation=activation)
    x, y = batch(K, dtype)
    fwd = runnable("mlp_fprop", backend)(p, x, y, lam=lam)
    return fwd, runnable("mlp_bprop", backend)(p, x, y, fwd, lam=lam)


@pytest.mark.parametrize("first,second", PAIRS)
@pytest.mark.parametrize("K", [1, 10, 100])
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("lam", [0.0, 0.01])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backends_agree(first, second, K, activation, lam, dtype):
    (f1, g1), (f2, g2) = (outputs(b, K, activation, lam, dtype) for b in (first, second))
    t = tol(dtype)
    for name in ("ha", "hs", "oa", "os"):
        a, b = getattr(f1, name), getattr(f2, name)
        assert a.dtype == b.dtype == np.dtype(dtype) and a.shape == b.shape
        np.testing.assert_allclose(a, b, **t, err_msg=name)
    np.testing.assert_allclose(f1.loss, f2.loss, **t)
    for name, a in g1.arrays().items():
        b = g2.arrays()[name]
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape
        np.testing.assert_allclose(a, b, **t, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_gradients_match_finite_differences(backend, activation, lam):
    runnable("mlp_fprop", backend)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 12)), rng.integers(0, 5, 6)
    p = mlp.init_params(d=12, dh=7, m=5, seed=5, activation=activation)
    before = p.copy()
    errors = mlp.check_gradients(p, x, y, kernels.get("mlp_fprop", backend),
                                 kernels.get("mlp_bprop", backend), lam)
    assert set(errors) == {"dW1", "db1", "dW2", "db2"}
    assert max(errors.values()) < 1e-6, errors
    for name, a in p.arrays().items():                      # the check leaves p alone
        np.testing.assert_array_equal(a, before.arrays()[name])


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    from kernels.ops.mlp import vectorized
    real = vectorized.backward
    wrong = lambda *a: mlp.Gradients(*(g * 1.01 for g in real(*a).arrays().values()))
    rng = np.random.default_rng(4)
    errors = mlp.check_gradients(mlp.init_params(d=5, dh=3, m=4), rng.normal(size=(3, 5)),
                                 np.array([0, 1, 3]), vectorized.fprop, mlp.bprop_kernel(wrong))
    assert min(errors.values()) > 5e-3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
def test_autograd_oracle(backend, activation):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: autograd oracle skipped")
    lam, K = 0.01, 10
    p = mlp.init_params(dh=8, seed=3, activation=activation)
    x, y = batch(K, "float64")
    fwd = runnable("mlp_fprop", backend)(p, x, y, lam=lam)
    g = runnable("mlp_bprop", backend)(p, x, y, fwd, lam=lam)
    W1, b1, W2, b2 = (torch.tensor(a, requires_grad=True) for a in p.arrays().values())
    act = {"relu": torch.relu, "tanh": torch.tanh, "softplus": torch.nn.functional.softplus}
    oa = act[activation](torch.tensor(x) @ W1.T + b1) @ W2.T + b2
    loss = torch.nn.functional.cross_entropy(oa, torch.tensor(y)) \
        + lam / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    loss.backward()
    np.testing.assert_allclose(fwd.loss, loss.item(), rtol=1e-10)
    np.testing.assert_allclose(fwd.os, torch.softmax(oa, 1).detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, t in zip(("dW1", "db1", "dW2", "db2"), (W1, b1, W2, b2)):
        np.testing.assert_allclose(g.arrays()[name], t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def epoch_reference(train):
    """Parameters after one real Fashion-MNIST epoch with the example-loop backend: per
    example matrix-vector products, an independent computation from the whole-batch ones."""
    X, y = train
    p = mlp.init_params()
    loss = kernels.get("mlp_epoch", "example-loop")(p, X, y, batch_size=100, lr=0.1)
    return p, loss


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "example-loop"
                                     and not kernels.registry.entry("mlp_epoch", b).slow])
def test_full_epoch_on_fashion_mnist(backend, train, epoch_reference):
    X, y = train
    p = mlp.init_params()
    loss = runnable("mlp_epoch", backend)(p, X, y, batch_size=100, lr=0.1)
    reference, reference_loss = epoch_reference
    np.testing.assert_allclose(loss, reference_loss, rtol=1e-7)
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, reference.arrays()[name], rtol=1e-7, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("first,second", PAIRS)
def test_epoch_with_short_last_batch_agrees(first, second, train):
    X, y = train[0][:250], train[1][:250]                   # minibatches 100, 100, 50
    params = []
    for backend in (first, second):
        p = mlp.init_params(dh=10, seed=6, activation="tanh")
        loss = runnable("mlp_epoch", backend)(p, X, y, batch_size=100, lr=0.1, lam=0.001)
        params.append((p, loss))
    (p1, l1), (p2, l2) = params
    np.testing.assert_allclose(l1, l2, rtol=1e-10)
    for name, a in p1.arrays().items():
        np.testing.assert_allclose(a, p2.arrays()[name], rtol=1e-7, atol=1e-9, err_msg=name)


def test_epoch_equals_its_minibatch_steps(train):
    """The epoch is exactly fprop, bprop and theta -= lr * grad over consecutive minibatches."""
    X, y = train[0][:230], train[1][:230]
    p, q = mlp.init_params(dh=6, seed=7), mlp.init_params(dh=6, seed=7)
    losses = []
    for start in range(0, 230, 100):
        x, t = X[start:start + 100], y[start:start + 100]
        fwd = kernels.get("mlp_fprop", "numpy")(q, x, t)
        g = kernels.get("mlp_bprop", "numpy")(q, x, t, fwd)
        for name, grad in g.arrays().items():
            getattr(q, name[1:])[...] -= 0.05 * grad
        losses.append(fwd.loss * len(t))
    loss = kernels.get("mlp_epoch", "numpy")(p, X, y, batch_size=100, lr=0.05)
    np.testing.assert_allclose(loss, sum(losses) / 230, rtol=1e-12)
    for name, a in p.arrays().items():
        np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-12)


def test_one_epoch_learns_fashion_mnist(train, epoch_reference, test_split):
    """A property of the real data: one epoch at dh = 50, lr = 0.1 reaches 78 % test accuracy."""
    p, loss = epoch_reference
    error, test_loss = mlp.evaluate(p, *test_split)
    assert 1 - error >= 0.78, f"test accuracy {1 - error:.3f}"
    assert test_loss < np.log(10) / 2 and loss < np.log(10) / 2


def test_init_params():
    p = mlp.init_params(d=784, dh=50, m=10, seed=0)
    assert p.W1.shape == (50, 784) and p.b1.shape == (50,)
    assert p.W2.shape == (10, 50) and p.b2.shape == (10,)
    assert np.all(np.abs(p.W1) <= 1 / np.sqrt(784)) and np.all(np.abs(p.W2) <= 1 / np.sqrt(50))
    assert np.abs(p.W1).max() > 0.9 / np.sqrt(784)           # uniform over the whole range
    assert not p.b1.any() and not p.b2.any()
    np.testing.assert_array_equal(p.W1, mlp.init_params(seed=0).W1)
    assert not np.array_equal(p.W1, mlp.init_params(seed=1).W1)
    assert mlp.init_params(dtype=np.float32).W2.dtype == np.float32


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(activation="sigmoid"), ValueError, "relu, tanh, softplus"),
    (dict(dh=0), ValueError, "dh must be a positive integer"),
    (dict(dtype=np.int64), TypeError, "float32 or float64"),
])
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
        ("mlp_epoch", dict(lr=10 ** 400), ValueError, "lr must be finite"),
        ("mlp_epoch", dict(lam=10 ** 400), ValueError, "lam must be finite"),
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
    args = {"mlp_epoch": dict(p=p, X=X, y=y, batch_size=10, lr=0.1, lam=0.0),
            "mlp_fprop": dict(p=p, x=X, y=y, lam=0.0),
            "mlp_bprop": dict(p=p, x=X, y=y, fwd=fprop(p, X, y), lam=0.0)}[kernel]
    if isinstance(overrides.get("fwd"), str) and overrides["fwd"] == "other batch":
        overrides = dict(fwd=fprop(p, X[:5], y[:5]))
    if isinstance(overrides.get("X"), str):          # "W1 itself": the epoch would read rows it updates
        p = mlp.init_params(d=4, dh=4)
        before = p.copy()
        args.update(p=p, y=np.zeros(4, int))
        overrides = dict(X=p.W1)
    if overrides.get("p") == "W2 inside W1":         # numba would write W1 back over W2
        W2 = p.W1.reshape(-1)[:40].reshape(10, 4)
        p = mlp.Params(p.W1, p.b1, W2, p.b2)
        before = p.copy()
        overrides = dict(p=p)
    args.update(overrides)
    with pytest.raises(error, match=message):
        fn(*args.values())
    for name, a in p.arrays().items():
        np.testing.assert_array_equal(a, before.arrays()[name])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NaN and inf on purpose
@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_names_the_minibatch_and_leaves_p_as_before(backend, train):
    fn = runnable("mlp_epoch", backend)
    X = np.array(train[0][:25])
    X[17, 5] = np.nan                                          # poisons minibatch 1 (rows 10-19)
    y = train[1][:25]
    p = mlp.init_params(dh=4)
    before = p.copy()
    with pytest.raises(mlp.DivergenceError, match="loss became nan at minibatch 1 .*examples 10 to 19"):
        fn(p, X, y, batch_size=10, lr=0.1)
    for name, a in p.arrays().items():                         # all or nothing
        np.testing.assert_array_equal(a, before.arrays()[name], err_msg=name)
    X[17, 5] = 0.0
    X[23, 0] = np.inf                                          # the short last minibatch (20-24)
    with pytest.raises(mlp.DivergenceError, match="minibatch 2 .*examples 20 to 24\\)"):
        fn(p, X, y, batch_size=10, lr=0.1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch_size", [100, 7, 1])
def test_numba_epoch_on_any_thread_count_matches(threads, batch_size, train):
    """numba's epoch splits the hidden units over numba's threads when it has more than
    one (numba-serial never does): both give the parameters of the numpy epoch,
    whatever the thread count and the short last batch."""
    for backend in ("numba", "numba-serial"):
        runnable("mlp_epoch", backend)
    import numba
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"numba was started with {numba.config.NUMBA_NUM_THREADS} thread(s)")
    X, y = train[0][:1050], train[1][:1050]
    q = mlp.init_params(dh=30, activation="softplus")
    loss = kernels.get("mlp_epoch", "numpy")(q, X, y, batch_size=batch_size, lr=0.05, lam=0.01)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        for backend in ("numba", "numba-serial"):
            p = mlp.init_params(dh=30, activation="softplus")
            got = kernels.get("mlp_epoch", backend)(p, X, y, batch_size=batch_size, lr=0.05, lam=0.01)
            np.testing.assert_allclose(got, loss, rtol=1e-10)
            for name, a in p.arrays().items():
                np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-7, atol=1e-9, err_msg=name)
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("rows,labels,message", [(0, 0, "empty"), (10_001, 10_000, "one label"),
                                                 (20_000, 10_000, "one label"), (5, 6, "one label")])
def test_evaluate_refuses_empty_or_mismatched_sets(rows, labels, message):
    p = mlp.init_params(d=3, dh=2, m=2)
    with pytest.raises(ValueError, match=message):
        mlp.evaluate(p, np.zeros((rows, 3)), np.zeros(labels, int))
