"""Input checks of the MLP kernels, written once and run by the decorators of
``kernels.ops.mlp`` before any backend computes or changes anything."""

from __future__ import annotations

import math

import numpy as np

from ..arrays import TAKERS, dtype_of, foreign, library, to_host
from .types import Forward, Params


def check_params(p) -> None:
    """``p`` must be a Params whose arrays still hold (they may have been reassigned or
    made read-only since it was built): checked again before every call that writes."""
    if not isinstance(p, Params):
        raise TypeError(f"p must be kernels.mlp.Params (see init_params); got {type(p).__name__}")
    p.check()


def check_rate(name: str, value) -> float:
    """A finite, non-negative real (learning rate, weight decay), as a Python float so that
    an np.float32 never lowers a float64 update to float32."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.floating, np.integer)
    ):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        rate = float(value)
    except OverflowError:  # a Python int beyond float's range
        raise ValueError(
            f"{name} must be finite and >= 0; got an integer beyond float's range"
        ) from None
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"{name} must be finite and >= 0; got {value}")
    return rate


def check_batch(p, x, y, lam, takes=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate a minibatch for ``p``; return ``x`` (K, d) C-contiguous in p's dtype,
    ``y`` (K,) int64 and ``lam`` as a float. Raises TypeError or ValueError naming the
    problem, before anything is computed. ``takes``: which arrays of other libraries
    than NumPy the backend computes on (``kernels.ops.arrays.on_device`` for a GPU
    backend); those pass the same rules, read from their shape and dtype, and are
    returned as they are (integer images are not converted there)."""
    check_params(p)
    if foreign(x) or foreign(y):
        if library(x) != library(y):
            raise TypeError(
                f"x and y must be arrays of one library; got x of type "
                f"{type(x).__name__} ({library(x)}) and y of type "
                f"{type(y).__name__} ({library(y)})"
            )
        if takes is None or not (takes(x) and takes(y)):
            raise TypeError(
                f"this backend computes on NumPy arrays (a GPU backend on GPU "
                f"arrays); got x of type {type(x).__name__} and y of type "
                f"{type(y).__name__}: convert them, or use a backend that computes "
                f"where they live: {TAKERS}"
            )
        check_shapes(p, tuple(x.shape), dtype_of(x), tuple(y.shape), dtype_of(y))
        check_labels(p, to_host(y))
        return x, y, check_rate("lam", lam)
    for name, value in (("x", x), ("y", y)):
        if isinstance(value, np.ma.MaskedArray):
            raise TypeError(f"{name} must not be a masked array (the mask would be ignored)")
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind in "iu":
        x = x.astype(p.dtype)
    check_shapes(p, x.shape, x.dtype, y.shape, y.dtype)
    check_labels(p, y)
    lam = check_rate("lam", lam)
    return np.ascontiguousarray(x), y.astype(np.int64, copy=False), lam


def check_shapes(p, x_shape, x_dtype, y_shape, y_dtype) -> None:
    d, _, m = p.shape
    if x_dtype != p.dtype:
        raise TypeError(
            f"x has dtype {x_dtype} but the parameters are {p.dtype}; load the "
            f"data or initialise the parameters with the same dtype"
        )
    if len(x_shape) != 2 or x_shape[1] != d:
        raise ValueError(f"x must have shape (K, d) with d = {d} features; got {x_shape}")
    if y_dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels; got dtype {y_dtype}")
    if y_shape != (x_shape[0],):
        raise ValueError(
            f"y must have one label per row of x, shape ({x_shape[0]},); got {y_shape}"
        )
    if x_shape[0] == 0:
        raise ValueError("the minibatch is empty (K = 0): the mean loss is undefined")


def check_labels(p, y: np.ndarray) -> None:
    m = p.shape[2]
    if y.min() < 0 or y.max() >= m:
        raise ValueError(f"labels must lie in [0, {m}); got values from {y.min()} to {y.max()}")


def check_forward(p, x: np.ndarray, fwd) -> None:
    """The forward pass handed to bprop must belong to this minibatch and these parameters."""
    if not isinstance(fwd, Forward):
        raise TypeError(f"fwd must be the Forward returned by fprop; got {type(fwd).__name__}")
    K, (_, dh, m) = x.shape[0], p.shape
    got = [fwd.ha.shape, fwd.hs.shape, fwd.oa.shape, fwd.os.shape]
    if got != [(K, dh), (K, dh), (K, m), (K, m)]:
        raise ValueError(
            f"fwd does not match this minibatch: expected ha, hs ({K}, {dh}) and "
            f"oa, os ({K}, {m}); got {', '.join(map(str, got))}"
        )


def check_epoch(p, X, y, batch_size, lr, lam, takes=None):
    """Validate a whole epoch's arguments; returns ``X, y, batch_size, lr, lam`` with
    ``batch_size`` at most N (a larger one is one minibatch of all N examples)."""
    if (
        isinstance(batch_size, (bool, np.bool_))
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    lr = check_rate("lr", lr)
    X, y, lam = check_batch(p, X, y, lam, takes)
    arrays = p.arrays()
    overlapping = [
        f"{a} and {b}"
        for i, a in enumerate(arrays)
        for b in list(arrays)[i + 1 :]
        if not foreign(arrays[a]) and np.shares_memory(arrays[a], arrays[b])
    ]
    if overlapping:
        # each update would change another parameter as well, and backends update them at
        # different moments (numba writes W1 back once per epoch): results would differ
        raise ValueError(
            f"the parameters {', '.join(overlapping)} share memory; every parameter "
            f"needs its own array (copy one of them)"
        )
    shared = [
        k
        for k, a in arrays.items()
        if not foreign(X) and (np.shares_memory(a, X) or np.shares_memory(a, y))
    ]
    if shared:
        # the epoch updates p as it goes: backends would read rows already changed (or,
        # copying first, not), so the result would depend on the backend
        raise ValueError(
            f"X or y shares memory with the parameter {', '.join(shared)}, which the "
            f"epoch updates in place; pass a copy (X.copy())"
        )
    return X, y, int(min(batch_size, X.shape[0])), lr, lam
