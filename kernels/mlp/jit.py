"""MLP, ``numba`` backend: compiled loops around BLAS products; the whole SGD
epoch runs in compiled code, with no Python call per minibatch."""
from __future__ import annotations

import math

import numba
import numpy as np

from . import (ACTIVATIONS, Forward, Gradients, Params, check_epoch, diverged, public_api)

RELU, TANH, SOFTPLUS = (ACTIVATIONS.index(a) for a in ("relu", "tanh", "softplus"))


@numba.njit(cache=True, inline="always")
def _act(code, v):
    if code == RELU:
        return v if v > 0 else 0.0 * v
    if code == TANH:
        return math.tanh(v)
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


@numba.njit(cache=True, inline="always")
def _act_grad(code, v, h):
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == TANH:
        return 1.0 - h * h
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@numba.njit(cache=True)
def _forward(W1, b1, W2, b2, code, x, y, ha, hs, oa, os):
    """Fill ha, hs (K, dh) and oa, os (K, m); return the mean cross-entropy."""
    K, dh, m = x.shape[0], W1.shape[0], W2.shape[0]
    np.dot(x, W1.T, ha)
    for k in range(K):
        for j in range(dh):
            ha[k, j] += b1[j]
            hs[k, j] = _act(code, ha[k, j])
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
        nll += math.log(total) - (oa[k, y[k]] - top)   # -log os[k, y_k], as log-sum-exp
    return nll / K


@numba.njit(cache=True)
def _l2(W1, W2, lam):
    if lam == 0:
        return 0.0
    return 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))


@numba.njit(cache=True)
def _backward(W1, W2, code, lam, x, y, ha, hs, os, g_oa, g_ha, dW1, db1, dW2, db2):
    """Fill dW1, db1, dW2, db2 with the mean gradients; g_oa, g_ha are scratch."""
    K, dh, m = x.shape[0], W1.shape[0], W2.shape[0]
    for k in range(K):
        for c in range(m):
            g_oa[k, c] = os[k, c] / K
        g_oa[k, y[k]] -= 1.0 / K
    np.dot(g_oa.T, hs, dW2)
    np.dot(g_oa, W2, g_ha)
    for k in range(K):
        for j in range(dh):
            g_ha[k, j] *= _act_grad(code, ha[k, j], hs[k, j])
    np.dot(g_ha.T, x, dW1)
    db1[:] = 0.0
    db2[:] = 0.0
    for k in range(K):
        for j in range(dh):
            db1[j] += g_ha[k, j]
        for c in range(m):
            db2[c] += g_oa[k, c]
    if lam != 0:
        dW1 += lam * W1
        dW2 += lam * W2


@numba.njit(cache=True)
def _epoch(W1, b1, W2, b2, code, X, y, batch_size, lr, lam):
    """SGD over X in order; returns (sum of K * loss, index of a non-finite minibatch or -1, its loss)."""
    N, dh, m = X.shape[0], W1.shape[0], W2.shape[0]
    dt = W1.dtype
    ha, hs = np.empty((batch_size, dh), dt), np.empty((batch_size, dh), dt)
    oa, os = np.empty((batch_size, m), dt), np.empty((batch_size, m), dt)
    g_oa, g_ha = np.empty((batch_size, m), dt), np.empty((batch_size, dh), dt)
    dW1, db1 = np.empty_like(W1), np.empty_like(b1)
    dW2, db2 = np.empty_like(W2), np.empty_like(b2)
    total = 0.0
    for index, start in enumerate(range(0, N, batch_size)):
        stop = min(start + batch_size, N)
        K = stop - start
        x, t = X[start:stop], y[start:stop]
        loss = _forward(W1, b1, W2, b2, code, x, t, ha[:K], hs[:K], oa[:K], os[:K]) \
            + _l2(W1, W2, lam)
        if not math.isfinite(loss):
            return total, index, loss
        _backward(W1, W2, code, lam, x, t, ha[:K], hs[:K], os[:K], g_oa[:K], g_ha[:K],
                  dW1, db1, dW2, db2)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
        total += loss * K
    return total, -1, 0.0


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    K, (_, dh, m) = len(y), p.shape
    ha, hs = np.empty((K, dh), p.dtype), np.empty((K, dh), p.dtype)
    oa, os = np.empty((K, m), p.dtype), np.empty((K, m), p.dtype)
    code = ACTIVATIONS.index(p.activation)
    nll = _forward(p.W1, p.b1, p.W2, p.b2, code, x, y, ha, hs, oa, os)
    return Forward(ha, hs, oa, os, float(nll + _l2(p.W1, p.W2, lam)))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    K, (_, dh, m) = len(y), p.shape
    g = Gradients(*(np.empty_like(a) for a in p.arrays().values()))
    code = ACTIVATIONS.index(p.activation)
    ha, hs, os = (np.ascontiguousarray(a) for a in (fwd.ha, fwd.hs, fwd.os))
    _backward(p.W1, p.W2, code, lam, x, y, ha, hs, os, np.empty((K, m), p.dtype),
              np.empty((K, dh), p.dtype), g.dW1, g.db1, g.dW2, g.db2)
    return g


def _update(p: Params, g: Gradients, lr: float) -> None:
    raise AssertionError("the numba epoch updates in compiled code")


fprop, bprop, _ = public_api(forward, backward, _update)


def epoch(p: Params, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
    """One SGD epoch over X (N, d), y (N,) in order, minibatches of batch_size (the
    last may be shorter), all in compiled code; updates p in place; returns the
    mean loss per example."""
    X, y = check_epoch(p, X, y, batch_size, lr, lam)
    code = ACTIVATIONS.index(p.activation)
    total, bad, loss = _epoch(p.W1, p.b1, p.W2, p.b2, code, X, y, int(batch_size),
                              float(lr), float(lam))
    if bad >= 0:
        raise diverged(bad, batch_size, loss, lr)
    return total / len(X)
