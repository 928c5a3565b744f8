"""MLP, ``numba`` backend: compiled loops around our own register-blocked matrix product
(microkernel.py; BLAS for the small m = 10 ones). One minibatch's forward and backward
pass here; the SGD epoch, wholly compiled, in jit_epoch.py."""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import microkernel, numba_cache, tile
from ..microkernel import _product
from . import jit_parts
from .family import bprop_kernel, fprop_kernel
from .jit_epoch import epoch, epoch_serial
from .jit_parts import act, act_grad, l2
from .types import ACTIVATIONS, Forward, Gradients, Params

numba_cache.track(__file__, microkernel, tile, jit_parts, key=microkernel.BLOCK)

__all__ = ["bprop", "epoch", "epoch_serial", "fprop"]


@numba.njit(cache=True)
def _forward(W1, b1, W2, b2, code, x, y, ha, hs, oa, os):
    """Fill ha, hs (K, dh) and oa, os (K, m); return the mean cross-entropy."""
    K, dh, m = x.shape[0], W1.shape[0], W2.shape[0]
    _product(x, W1.T, ha)
    for k in range(K):
        for j in range(dh):
            ha[k, j] += b1[j]
            hs[k, j] = act(code, ha[k, j])
    np.dot(hs, W2.T, oa)
    nll = 0.0
    for k in range(K):
        top = -np.inf
        for c in range(m):
            oa[k, c] += b2[c]
            top = max(top, oa[k, c])
        total = 0.0
        for c in range(m):
            os[k, c] = math.exp(oa[k, c] - top)
            total += os[k, c]
        for c in range(m):
            os[k, c] /= total
        nll += math.log(total) - (oa[k, y[k]] - top)  # -log os[k, y_k], as log-sum-exp
    return nll / K


@numba.njit(cache=True)
def _backward(W1, W2, code, lam, K, x, y, ha, hs, os, g_oa, g_ha, dW1, db1, dW2, db2):
    """Fill dW1, db1, dW2, db2 with the gradients of the rows of x, divided by K (the
    minibatch size: x may be part of the minibatch); g_oa, g_ha are scratch."""
    dh, m = W1.shape[0], W2.shape[0]
    for k in range(x.shape[0]):
        for c in range(m):
            g_oa[k, c] = os[k, c] / K
        g_oa[k, y[k]] -= 1.0 / K
    np.dot(g_oa.T, hs, dW2)
    np.dot(g_oa, W2, g_ha)
    for k in range(x.shape[0]):
        for j in range(dh):
            g_ha[k, j] *= act_grad(code, ha[k, j], hs[k, j])
    _product(g_ha.T, x, dW1)
    db1[:] = 0.0
    db2[:] = 0.0
    for k in range(x.shape[0]):
        for j in range(dh):
            db1[j] += g_ha[k, j]
        for c in range(m):
            db2[c] += g_oa[k, c]
    if lam != 0:
        dW1 += lam * W1
        dW2 += lam * W2


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    K, (_, dh, m) = len(y), p.shape
    ha, hs = np.empty((K, dh), p.dtype), np.empty((K, dh), p.dtype)
    oa, os = np.empty((K, m), p.dtype), np.empty((K, m), p.dtype)
    code = ACTIVATIONS.index(p.activation)
    nll = _forward(p.W1, p.b1, p.W2, p.b2, code, x, y, ha, hs, oa, os)
    return Forward(ha, hs, oa, os, float(nll + l2(p.W1, p.W2, lam)))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    K, (_, dh, m) = len(y), p.shape
    g = Gradients(*(np.empty_like(a) for a in p.arrays().values()))
    code = ACTIVATIONS.index(p.activation)
    ha, hs, os = (np.ascontiguousarray(a) for a in (fwd.ha, fwd.hs, fwd.os))
    _backward(
        p.W1,
        p.W2,
        code,
        lam,
        K,
        x,
        y,
        ha,
        hs,
        os,
        np.empty((K, m), p.dtype),
        np.empty((K, dh), p.dtype),
        g.dW1,
        g.db1,
        g.dW2,
        g.db2,
    )
    return g


fprop, bprop = fprop_kernel(forward), bprop_kernel(backward)
