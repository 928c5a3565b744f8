"""One-hidden-layer perceptron (DESIGN §2.3): parameters, activations, input checks.

``ha = x W1^T + b1``, ``hs = act(ha)``, ``oa = hs W2^T + b2``, ``os = softmax(oa)``,
``loss = mean_k(-log os[k, y_k]) + lam/2 (|W1|^2 + |W2|^2)``.

Backends, each defining ``fprop``, ``bprop`` and ``epoch``: loops.py (python),
example_loop.py (example-loop), vectorized.py (numpy), jit.py (numba). The
checks live here, once; the backends call them before touching anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

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
        if not all(a.flags.c_contiguous and a.flags.writeable for a in arrays):
            raise ValueError("parameter arrays must be C-contiguous and writeable")

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
        return Params(**{k: v.copy() for k, v in self.arrays().items()}, activation=self.activation)


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


def init_params(d: int = 784, dh: int = 50, m: int = 10, seed: int = 0, dtype=np.float64,
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


def check_batch(p: Params, x, y, lam) -> tuple[np.ndarray, np.ndarray]:
    """Validate a minibatch for ``p``; return ``x`` (K, d) in p's dtype and ``y`` (K,) int64.

    Raises TypeError or ValueError naming the problem, before anything is computed.
    """
    if not isinstance(p, Params):
        raise TypeError(f"p must be kernels.mlp.Params (see init_params); got {type(p).__name__}")
    x = np.asarray(x)
    y = np.asarray(y)
    d, _, m = p.shape
    if x.dtype.kind in "iu":
        x = x.astype(p.dtype)
    elif x.dtype != p.dtype:
        raise TypeError(f"x has dtype {x.dtype} but the parameters are {p.dtype}; load the "
                        f"data or initialise the parameters with the same dtype")
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape (K, d) with d = {d} features; got {x.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels; got dtype {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have one label per row of x, shape ({x.shape[0]},); got {y.shape}")
    if x.shape[0] == 0:
        raise ValueError("the minibatch is empty (K = 0): the mean loss is undefined")
    if y.min() < 0 or y.max() >= m:
        raise ValueError(f"labels must lie in [0, {m}); got values from {y.min()} to {y.max()}")
    check_rate("lam", lam)
    return np.ascontiguousarray(x), y.astype(np.int64, copy=False)


def check_forward(p: Params, x: np.ndarray, fwd: Forward) -> None:
    """The forward pass handed to bprop must belong to this minibatch and these parameters."""
    if not isinstance(fwd, Forward):
        raise TypeError(f"fwd must be the Forward returned by fprop; got {type(fwd).__name__}")
    K, (_, dh, m) = x.shape[0], p.shape
    got = [fwd.ha.shape, fwd.hs.shape, fwd.oa.shape, fwd.os.shape]
    if got != [(K, dh), (K, dh), (K, m), (K, m)]:
        raise ValueError(f"fwd does not match this minibatch: expected ha, hs ({K}, {dh}) and "
                         f"oa, os ({K}, {m}); got {', '.join(map(str, got))}")


def check_rate(name: str, value) -> float:
    """A finite, non-negative float (learning rate, weight decay)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0; got {value}")
    return float(value)


def check_epoch(p, X, y, batch_size, lr, lam) -> tuple[np.ndarray, np.ndarray]:
    """Validate a whole epoch's arguments; same returns as check_batch."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    check_rate("lr", lr)
    return check_batch(p, X, y, lam)


def diverged(index: int, batch_size: int, loss: float, lr: float) -> DivergenceError:
    return DivergenceError(
        f"the loss became {loss} at minibatch {index} (examples {index * batch_size} to "
        f"{(index + 1) * batch_size - 1}); training diverged: lower the learning rate "
        f"(lr = {lr}) or check the inputs for NaN/inf")


def sgd_epoch(p: Params, X, y, batch_size, lr, lam, forward: Callable, backward: Callable,
              update: Callable) -> float:
    """An SGD epoch in order over consecutive minibatches (the last may be shorter).

    ``forward(p, x, y, lam) -> Forward``, ``backward(p, x, y, fwd, lam) -> Gradients`` and
    ``update(p, g, lr)`` are a backend's unchecked steps. Returns the mean loss over
    the examples; raises DivergenceError before applying a non-finite step.
    """
    total = 0.0
    for index, start in enumerate(range(0, len(X), batch_size)):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        fwd = forward(p, x, t, lam)
        if not math.isfinite(fwd.loss):
            raise diverged(index, batch_size, fwd.loss, lr)
        update(p, backward(p, x, t, fwd, lam), lr)
        total += fwd.loss * len(x)
    return total / len(X)


def public_api(forward: Callable, backward: Callable, update: Callable):
    """A backend's checked ``fprop``, ``bprop`` and ``epoch`` built from its unchecked
    steps, so the checks are written once and run before anything is computed."""

    def fprop(p: Params, x, y, lam: float = 0.0) -> Forward:
        """Forward pass. x (K, d) of p's dtype, y (K,) int labels in [0, m). Returns Forward."""
        x, y = check_batch(p, x, y, lam)
        return forward(p, x, y, lam)

    def bprop(p: Params, x, y, fwd: Forward, lam: float = 0.0) -> Gradients:
        """Mean gradients (plus lam * W) for the minibatch of ``fwd``. Returns Gradients."""
        x, y = check_batch(p, x, y, lam)
        check_forward(p, x, fwd)
        return backward(p, x, y, fwd, lam)

    def epoch(p: Params, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
        """One SGD epoch over X (N, d), y (N,) in order, minibatches of batch_size (the
        last may be shorter); updates p in place; returns the mean loss per example."""
        X, y = check_epoch(p, X, y, batch_size, lr, lam)
        return sgd_epoch(p, X, y, batch_size, lr, lam, forward, backward, update)

    for fn in (fprop, bprop, epoch):
        fn.__module__ = forward.__module__
    return fprop, bprop, epoch


def evaluate(p: Params, X, y, backend: str = "numpy", batch_size: int = 10_000) -> tuple[float, float]:
    """Error rate (proportion misclassified, in [0, 1]) and mean cross-entropy of ``p``
    on X (N, d), y (N,), without weight decay; computed in chunks of ``batch_size``."""
    import kernels
    fprop = kernels.get("mlp_fprop", backend)
    wrong, loss = 0, 0.0
    for start in range(0, len(X), batch_size):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        fwd = fprop(p, x, t)
        wrong += int(np.count_nonzero(fwd.oa.argmax(axis=1) != t))
        loss += fwd.loss * len(t)
    return wrong / len(X), loss / len(X)


def check_gradients(p: Params, x, y, backend: str = "numpy", lam: float = 0.0, **kwargs):
    """Worst relative error of each gradient against finite differences; see gradcheck."""
    from .gradcheck import check_gradients as check
    return check(p, x, y, backend, lam, **kwargs)
