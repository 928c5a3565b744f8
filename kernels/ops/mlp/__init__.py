"""One-hidden-layer perceptron (docs/design.md, section 2.3): parameters, results,
and the public fprop / bprop / epoch built around each backend's unchecked steps.

``ha = x W1^T + b1``, ``hs = act(ha)``, ``oa = hs W2^T + b2``, ``os = softmax(oa)``,
``loss = mean_k(-log os[k, y_k]) + lam/2 (|W1|^2 + |W2|^2)``.

Backends: loops.py (python), example_loop.py (example-loop), vectorized.py (numpy),
jit.py (numba), xla.py (jax). The checks (checks.py) run once, in the decorators
below, before any backend touches anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

from ...data import N_CLASSES, N_FEATURES
from .checks import check_batch, check_epoch, check_forward

ACTIVATIONS = ("relu", "tanh", "softplus")


@dataclass
class Params:
    """Weights of a ``d -> dh -> m`` MLP: W1 (dh, d), b1 (dh,), W2 (m, dh), b2 (m,).

    All four arrays share one dtype (float32 or float64) and are C-contiguous;
    training updates them in place.
    """

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    activation: str = "relu"

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise TypeError/ValueError unless the four arrays still form valid parameters."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; "
                             f"got {self.activation!r}")
        arrays = [self.W1, self.b1, self.W2, self.b2]
        if not all(isinstance(a, np.ndarray) for a in arrays):
            raise TypeError("W1, b1, W2 and b2 must be NumPy arrays")
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) != 1 or self.W1.dtype not in (np.float32, np.float64):
            raise TypeError(f"W1, b1, W2, b2 must share one dtype, float32 or float64; got "
                            f"{', '.join(str(a.dtype) for a in arrays)}")
        dh, d = self.W1.shape if self.W1.ndim == 2 else (-1, -1)
        m = self.W2.shape[0] if self.W2.ndim == 2 else -1
        expected = [(dh, d), (dh,), (m, dh), (m,)]
        if min(dh, d, m) < 1 or [a.shape for a in arrays] != expected:
            raise ValueError(f"parameter shapes must be W1 (dh, d), b1 (dh,), W2 (m, dh), b2 (m,); "
                             f"got {', '.join(str(a.shape) for a in arrays)}")
        bad = [k for k, a in self.arrays().items() if not (a.flags.c_contiguous and a.flags.writeable)]
        if bad:
            raise ValueError(f"parameter arrays must be C-contiguous and writeable (training "
                             f"updates them in place); {', '.join(bad)} is not")

    @property
    def dtype(self) -> np.dtype:
        return self.W1.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(d, dh, m)``."""
        return self.W1.shape[1], self.W1.shape[0], self.W2.shape[0]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def copy(self) -> "Params":
        return Params(**self.snapshot(), activation=self.activation)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the four arrays (a few hundred kB at d = 784, dh = 50)."""
        return {k: v.copy() for k, v in self.arrays().items()}

    def restore(self, saved: dict[str, np.ndarray]) -> None:
        """Write a snapshot back into the arrays, in place."""
        for k, v in saved.items():
            getattr(self, k)[...] = v


@dataclass(frozen=True)
class Forward:
    """Forward pass of a minibatch of K: ha, hs (K, dh); oa, os (K, m); loss (float)."""

    ha: np.ndarray
    hs: np.ndarray
    oa: np.ndarray
    os: np.ndarray
    loss: float


@dataclass(frozen=True)
class Gradients:
    """Mean gradients of the loss: dW1 (dh, d), db1 (dh,), dW2 (m, dh), db2 (m,)."""

    dW1: np.ndarray
    db1: np.ndarray
    dW2: np.ndarray
    db2: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite during training."""


def init_params(d: int = N_FEATURES, dh: int = 50, m: int = N_CLASSES, seed: int = 0, dtype=np.float64,
                activation: str = "relu") -> Params:
    """Seeded initialisation: W1 ~ U(+-1/sqrt(d)), W2 ~ U(+-1/sqrt(dh)), biases 0."""
    for name, value in (("d", d), ("dh", dh), ("m", m)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    rng = np.random.default_rng(seed)
    W1 = rng.uniform(-1, 1, (dh, d)) / math.sqrt(d)
    W2 = rng.uniform(-1, 1, (m, dh)) / math.sqrt(dh)
    return Params(W1.astype(dtype), np.zeros(dh, dtype), W2.astype(dtype), np.zeros(m, dtype),
                  activation)


def diverged(index: int, batch_size: int, n: int, loss: float, lr: float) -> DivergenceError:
    """The error for a non-finite loss at minibatch ``index`` of an epoch over ``n`` examples."""
    first, last = index * batch_size, min((index + 1) * batch_size, n) - 1
    return DivergenceError(
        f"the loss became {loss} at minibatch {index} (examples {first} to {last}); training "
        f"diverged: lower the learning rate (lr = {lr}) or check the inputs for NaN/inf. "
        f"The parameters are as they were before the epoch")


# ---- the public functions of every backend, built from its unchecked steps -------------
# A backend defines forward(p, x, y, lam) -> Forward, backward(p, x, y, fwd, lam) ->
# Gradients and run(p, X, y, batch_size, lr, lam) -> (sum of K * loss, index of the
# first minibatch with a non-finite loss or -1, that loss), and registers
# fprop_kernel(forward), bprop_kernel(backward), epoch_kernel(run).

def _named(fn: Callable, like: Callable, name: str) -> Callable:
    fn.__module__, fn.__name__, fn.__qualname__ = like.__module__, name, name
    return fn


def fprop_kernel(forward: Callable, takes: Callable | None = None) -> Callable:
    """``takes``: the arrays of other libraries than NumPy the backend computes on
    (a GPU backend: arrays on the GPU); every other backend takes NumPy arrays."""
    def fprop(p: Params, x, y, lam: float = 0.0) -> Forward:
        """Forward pass. p: Params; x (K, d) of p's dtype; y (K,) int labels in [0, m);
        lam >= 0. Returns Forward: ha, hs (K, dh), oa, os (K, m) and the loss."""
        x, y, lam = check_batch(p, x, y, lam, takes)
        return forward(p, x, y, lam)
    return _named(fprop, forward, "fprop")


def bprop_kernel(backward: Callable, takes: Callable | None = None) -> Callable:
    def bprop(p: Params, x, y, fwd: Forward, lam: float = 0.0) -> Gradients:
        """Mean gradients (plus lam * W) of the minibatch of ``fwd`` (returned by fprop on
        the same p, x, y). Returns Gradients: dW1 (dh, d), db1 (dh,), dW2 (m, dh), db2 (m,)."""
        x, y, lam = check_batch(p, x, y, lam, takes)
        check_forward(p, x, fwd)
        return backward(p, x, y, fwd, lam)
    return _named(bprop, backward, "bprop")


def epoch_kernel(run: Callable, takes: Callable | None = None) -> Callable:
    def epoch(p: Params, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
        """One SGD epoch over X (N, d), y (N,) in order, in minibatches of batch_size
        (the last may be shorter; any batch_size >= 1, at most one minibatch of all N).
        Updates p in place and returns the mean loss per example.

        All or nothing: if the loss of a minibatch is not finite (DivergenceError) or
        anything else fails part-way, p is restored to what it was before the call."""
        X, y, batch_size, lr, lam = check_epoch(p, X, y, batch_size, lr, lam, takes)
        before = p.snapshot()
        try:
            total, bad, loss = run(p, X, y, batch_size, lr, lam)
        except BaseException:
            p.restore(before)
            raise
        if bad >= 0:
            p.restore(before)
            raise diverged(bad, batch_size, X.shape[0], loss, lr)
        # a finite loss can still give non-finite gradients (tanh(inf) = 1, then inf * 0):
        # 40 kB to scan at dh = 50, nothing beside the epoch
        broken = [k for k, a in p.arrays().items() if not np.isfinite(a).all()]
        if broken:
            p.restore(before)
            raise DivergenceError(
                f"{', '.join(broken)} became NaN or infinite during the epoch although every "
                f"minibatch's loss was finite (an inf in the inputs?); the parameters are as "
                f"they were before the epoch")
        return total / X.shape[0]
    return _named(epoch, run, "epoch")


def sgd_loop(forward: Callable, backward: Callable, update: Callable) -> Callable:
    """The ``run`` of an epoch from a backend's forward, backward and ``update(p, g, lr)``:
    in order over consecutive minibatches, stopping at the first non-finite loss."""
    def run(p, X, y, batch_size, lr, lam):
        total = 0.0
        for index, start in enumerate(range(0, len(X), batch_size)):
            x, t = X[start:start + batch_size], y[start:start + batch_size]
            fwd = forward(p, x, t, lam)
            if not math.isfinite(fwd.loss):
                return total, index, fwd.loss
            update(p, backward(p, x, t, fwd, lam), lr)
            total += fwd.loss * len(x)
        return total, -1, 0.0
    return _named(run, forward, "run")


def evaluate_scores(scores: Callable, X, y, chunk: int = 10_000):
    """Error rate (proportion misclassified, in [0, 1]), mean loss and predicted classes
    (N,) of any classifier whose ``scores(x, y) -> (oa (K, m), mean loss)``, in chunks.
    Raises ValueError for an empty set or an X whose rows do not match y."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"X must be (N, d) with one label in y (N,) per row; got X {X.shape}, "
                         f"y {y.shape}")
    if len(y) == 0:
        raise ValueError("nothing to evaluate: X and y are empty (the error rate is undefined)")
    predicted, loss = np.empty(len(y), np.int64), 0.0
    for start in range(0, len(y), chunk):
        oa, chunk_loss = scores(X[start:start + chunk], y[start:start + chunk])
        predicted[start:start + chunk] = oa.argmax(axis=1)
        loss += chunk_loss * len(oa)
    return float(np.mean(predicted != y)), loss / len(y), predicted


def evaluate(p: Params, X, y, backend: str = "numpy") -> tuple[float, float]:
    """Error rate (in [0, 1]) and mean cross-entropy of ``p`` on X (N, d), y (N,),
    without weight decay."""
    from ...registry import get
    fprop = get("mlp_fprop", backend)

    def scores(x, t):
        fwd = fprop(p, x, t)
        return fwd.oa, fwd.loss

    error, loss, _ = evaluate_scores(scores, X, y)
    return error, loss


def check_gradients(p: Params, x, y, backend: str = "numpy", lam: float = 0.0, **kwargs):
    """Worst relative error of each gradient against finite differences; see gradcheck."""
    from .gradcheck import check_gradients as check
    return check(p, x, y, backend, lam, **kwargs)
