"""What the numba MLP's minibatch kernels (jit.py) and its epoch (jit_epoch.py) share,
inlined into both: the activations, their derivatives and the L2 term."""

from __future__ import annotations

import math

import numba
import numpy as np

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
def l2(W1, W2, lam):
    """lam / 2 (|W1|^2 + |W2|^2); W1 may be the epoch's padded W1T."""
    if lam == 0:
        return 0.0
    return 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))
