"""MLP: every backend against every other, finite differences, PyTorch autograd,
real Fashion-MNIST epochs, learning, and refused input."""

import functools
import itertools

import numpy as np
import pytest
from conftest import runnable, tol

import kernels
from kernels import mlp
from kernels.data import load_fashion_mnist

BACKENDS = kernels.backends("mlp_fprop")
PAIRS = list(itertools.combinations(BACKENDS, 2))


@functools.cache
def batch(K, dtype):
    X, y = load_fashion_mnist("train", dtype=dtype)
    return X[1000 : 1000 + K], y[1000 : 1000 + K]


@functools.cache
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
    errors = mlp.check_gradients(
        p, x, y, kernels.get("mlp_fprop", backend), kernels.get("mlp_bprop", backend), lam
    )
    assert set(errors) == {"dW1", "db1", "dW2", "db2"}
    assert max(errors.values()) < 1e-6, errors
    for name, a in p.arrays().items():  # the check leaves p alone
        np.testing.assert_array_equal(a, before.arrays()[name])


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    from kernels.ops.mlp import vectorized

    real = vectorized.backward
    wrong = lambda *a: mlp.Gradients(*(g * 1.01 for g in real(*a).arrays().values()))
    rng = np.random.default_rng(4)
    errors = mlp.check_gradients(
        mlp.init_params(d=5, dh=3, m=4),
        rng.normal(size=(3, 5)),
        np.array([0, 1, 3]),
        vectorized.fprop,
        mlp.bprop_kernel(wrong),
    )
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
    loss = torch.nn.functional.cross_entropy(oa, torch.tensor(y)) + lam / 2 * (
        (W1**2).sum() + (W2**2).sum()
    )
    loss.backward()
    np.testing.assert_allclose(fwd.loss, loss.item(), rtol=1e-10)
    np.testing.assert_allclose(
        fwd.os, torch.softmax(oa, 1).detach().numpy(), rtol=1e-10, atol=1e-12
    )
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


@pytest.mark.parametrize(
    "backend",
    [
        b
        for b in BACKENDS
        if b != "example-loop" and not kernels.registry.entry("mlp_epoch", b).slow
    ],
)
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
    X, y = train[0][:250], train[1][:250]  # minibatches 100, 100, 50
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
        x, t = X[start : start + 100], y[start : start + 100]
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
            got = kernels.get("mlp_epoch", backend)(
                p, X, y, batch_size=batch_size, lr=0.05, lam=0.01
            )
            np.testing.assert_allclose(got, loss, rtol=1e-10)
            for name, a in p.arrays().items():
                np.testing.assert_allclose(a, q.arrays()[name], rtol=1e-7, atol=1e-9, err_msg=name)
    finally:
        numba.set_num_threads(before)
