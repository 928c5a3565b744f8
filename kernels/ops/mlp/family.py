"""The public fprop / bprop / epoch of every MLP backend, built around its unchecked
steps: the checks (checks.py) run here once, before any backend computes or changes
anything, and an epoch is all or nothing."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .checks import check_batch, check_epoch, check_forward
from .types import DivergenceError, Forward, Gradients, Params, diverged

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
                f"they were before the epoch"
            )
        return total / X.shape[0]

    return _named(epoch, run, "epoch")


def sgd_loop(forward: Callable, backward: Callable, update: Callable) -> Callable:
    """The ``run`` of an epoch from a backend's forward, backward and ``update(p, g, lr)``:
    in order over consecutive minibatches, stopping at the first non-finite loss."""

    def run(p, X, y, batch_size, lr, lam):
        total = 0.0
        for index, start in enumerate(range(0, len(X), batch_size)):
            x, t = X[start : start + batch_size], y[start : start + batch_size]
            fwd = forward(p, x, t, lam)
            if not math.isfinite(fwd.loss):
                return total, index, fwd.loss
            update(p, backward(p, x, t, fwd, lam), lr)
            total += fwd.loss * len(x)
        return total, -1, 0.0

    return _named(run, forward, "run")
