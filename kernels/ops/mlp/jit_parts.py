"""What the numba MLP's minibatch kernels (jit.py) and its epoch (jit_epoch.py) share,
inlined into both: the activations, their derivatives and the L2 term."""

from __future__ import annotations

import math

import numba

from .. import numba_cache
from . import types as mlp_types
from .types import ACTIVATIONS

numba_cache.track(__file__, mlp_types)

RELU, TANH, SOFTPLUS = (ACTIVATIONS.index(a) for a in ("relu", "tanh", "softplus"))


@numba.njit(cache=True, inline="always")
def act(code, v):
    if code == RELU:
        return v if v > 0 else 0.0 * v
    if code == TANH:
        return math.tanh(v)
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


@numba.njit(cache=True, inline="always")
def act_grad(code, v, h):
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == TANH:
        return 1.0 - h * h
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@numba.njit(cache=True)
def l2(W1, W2, lam, W1t=None):
    """lam / 2 (|W1|^2 + |W2|^2), W1 given whole or, in the epoch, as its parts W1T
    and W1t."""
    if lam == 0:
        return 0.0
    squares = _squares(W1) + _squares(W2)
    if W1t is not None:
        squares += _squares(W1t)
    return 0.5 * lam * squares


@numba.njit(cache=True, inline="always")
def _squares(a):
    """The sum of a 2-D array's squares, with no temporary (l2 runs every minibatch)."""
    total = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            total += a[i, j] * a[i, j]
    return total
