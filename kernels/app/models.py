"""The two models the training tool trains, both built on the registered kernels: an
MLP (mlp_epoch, mlp_fprop, mlp_bprop) and softmax regression on pixels or on the
gradient-norm feature (softmax, gradient_norm)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..data import IMAGE_SHAPE, N_CLASSES
from ..ops import mlp
from ..registry import get


def kernels_of(s) -> dict[str, Callable]:
    """The callable of each kernel the settings ``s`` use, on its backend: resolved once
    per run (``Settings.backends``), not at each call."""
    return {name: get(name, backend) for name, backend in s.backends().items()}


class MLP:
    """The d -> hidden -> N_CLASSES perceptron trained with the registered MLP kernels."""

    def __init__(self, s, d: int):
        self.s, self.kernel = s, kernels_of(s)
        self.p = mlp.init_params(
            d=d, dh=s.hidden, seed=s.seed, dtype=s.dtype, activation=s.activation
        )

    def features(self, X):
        return X

    def epoch(self, X, y, lr, progress) -> float:
        s, K = self.s, self.s.batch_size
        if s.clip:
            fprop, bprop = self.kernel["mlp_fprop"], self.kernel["mlp_bprop"]

            def update(p, g, lr):
                for name, grad in g.arrays().items():
                    getattr(p, name[1:])[...] -= lr * np.clip(grad, -s.clip, s.clip)

            # the library's all-or-nothing epoch around a loop with a clipped update
            step = mlp.epoch_kernel(mlp.sgd_loop(fprop, bprop, update))
        else:
            step = self.kernel["mlp_epoch"]
        # the epoch in chunks of whole minibatches: the same SGD sequence, with progress
        chunk, total = 50 * K, 0.0
        for start in range(0, len(X), chunk):
            total += step(
                self.p, X[start : start + chunk], y[start : start + chunk], K, lr, s.weight_decay
            ) * len(X[start : start + chunk])
            progress(min(start + chunk, len(X)))
        return total / len(X)

    def scores(self, X, y):
        fwd = self.kernel["mlp_fprop"](self.p, X, y)
        return fwd.oa, fwd.loss

    def state(self) -> dict[str, np.ndarray]:
        return self.p.snapshot()

    def load(self, state) -> None:
        self.p.restore(state)


class SoftmaxRegression:
    """Multinomial logistic regression Z = x W^T + b -> softmax, trained with SGD, on
    pixels or on the gradient-norm feature |grad x|^2 (the registered kernels)."""

    def __init__(self, s, d: int):
        self.s, self.kernel = s, kernels_of(s)
        self.W = np.zeros((N_CLASSES, d), s.dtype)
        self.b = np.zeros(N_CLASSES, s.dtype)

    def features(self, X):
        if self.s.features == "pixels":
            return X
        g = self.kernel["gradient_norm"](X.reshape(-1, *IMAGE_SHAPE))
        return g.reshape(len(X), -1)

    def _forward(self, x, y):
        os = self.kernel["softmax"](x @ self.W.T + self.b)
        picked = os[np.arange(len(y)), y]
        with np.errstate(divide="ignore"):
            return os, float(-np.log(picked).mean())

    def epoch(self, X, y, lr, progress) -> float:
        s, K, total = self.s, self.s.batch_size, 0.0
        for index, start in enumerate(range(0, len(X), K)):
            x, t = X[start : start + K], y[start : start + K]
            os, loss = self._forward(x, t)
            if not math.isfinite(loss):
                raise mlp.diverged(index, K, len(X), loss, lr)
            g = os
            g[np.arange(len(t)), t] -= 1
            g /= len(t)
            dW, db = g.T @ x + s.weight_decay * self.W, g.sum(axis=0)
            if s.clip:
                dW, db = np.clip(dW, -s.clip, s.clip), np.clip(db, -s.clip, s.clip)
            self.W -= lr * dW
            self.b -= lr * db
            total += loss * len(t)
            if index % 50 == 49 or start + K >= len(X):
                progress(min(start + K, len(X)))
        return total / len(X)

    def scores(self, X, y):
        return self._forward(X, y)

    def state(self):
        return {"W": self.W.copy(), "b": self.b.copy()}

    def load(self, state):
        self.W[...], self.b[...] = state["W"], state["b"]


MODELS = {"mlp": MLP, "softmax-regression": SoftmaxRegression}


def standardizer(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of the training features (std floored at 0.01, so the
    constant border pixels do not blow up)."""
    return F.mean(axis=0), F.std(axis=0) + 0.01


def standardize(F: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(((F - mean) / std).astype(F.dtype, copy=False))
