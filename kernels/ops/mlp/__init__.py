"""One-hidden-layer perceptron (docs/design.md, section 2.3): parameters, results,
and the public fprop / bprop / epoch built around each backend's unchecked steps.

``ha = x W1^T + b1``, ``hs = act(ha)``, ``oa = hs W2^T + b2``, ``os = softmax(oa)``,
``loss = mean_k(-log os[k, y_k]) + lam/2 (|W1|^2 + |W2|^2)``.

Each backend module beside this one (kernels/shipped.py registers them) wraps its steps
in the decorators of family.py, whose checks (checks.py) run once, before any backend
touches anything. The types live in types.py; this package adds the evaluation of a
trained model and the gradient check (gradcheck.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .family import bprop_kernel, epoch_kernel, fprop_kernel, sgd_loop
from .gradcheck import check_gradients
from .types import ACTIVATIONS, DivergenceError, Forward, Gradients, Params, diverged, init_params

__all__ = [
    "ACTIVATIONS",
    "DivergenceError",
    "Forward",
    "Gradients",
    "Params",
    "init_params",
    "diverged",
    "check_gradients",
    "evaluate",
    "evaluate_scores",
    "fprop_kernel",
    "bprop_kernel",
    "epoch_kernel",
    "sgd_loop",
]


def evaluate_scores(scores: Callable, X, y, chunk: int = 10_000):
    """Error rate (proportion misclassified, in [0, 1]), mean loss and predicted classes
    (N,) of any classifier whose ``scores(x, y) -> (oa (K, m), mean loss)``, in chunks.
    Raises ValueError for an empty set or an X whose rows do not match y."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(
            f"X must be (N, d) with one label in y (N,) per row; got X {X.shape}, y {y.shape}"
        )
    if len(y) == 0:
        raise ValueError("nothing to evaluate: X and y are empty (the error rate is undefined)")
    predicted, loss = np.empty(len(y), np.int64), 0.0
    for start in range(0, len(y), chunk):
        oa, chunk_loss = scores(X[start : start + chunk], y[start : start + chunk])
        predicted[start : start + chunk] = oa.argmax(axis=1)
        loss += chunk_loss * len(oa)
    return float(np.mean(predicted != y)), loss / len(y), predicted


def evaluate(p: Params, X, y, fprop: Callable | None = None) -> tuple[float, float]:
    """Error rate (in [0, 1]) and mean cross-entropy of ``p`` on X (N, d), y (N,), without
    weight decay, computed by ``fprop`` (a backend's, e.g. ``kernels.get("mlp_fprop",
    "numba")``; default the numpy one)."""
    if fprop is None:
        from .vectorized import fprop  # scipy only when evaluating

    def scores(x, t):
        fwd = fprop(p, x, t)
        return fwd.oa, fwd.loss

    error, loss, _ = evaluate_scores(scores, X, y)
    return error, loss
