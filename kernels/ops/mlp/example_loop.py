"""MLP, ``example-loop`` backend: a Python loop over the K examples of a minibatch,
with NumPy matrix-vector products per example (the coursework's "before" of
matrix calculus)."""

from __future__ import annotations

import numpy as np

from .family import bprop_kernel, epoch_kernel, fprop_kernel, sgd_loop
from .types import Forward, Gradients, Params
from .vectorized import act, act_grad, l2, update


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    K, (_, dh, m) = len(y), p.shape
    ha, hs = np.empty((K, dh), p.dtype), np.empty((K, dh), p.dtype)
    oa, os = np.empty((K, m), p.dtype), np.empty((K, m), p.dtype)
    nll = 0.0
    for k in range(K):
        ha[k] = p.W1 @ x[k] + p.b1
        hs[k] = act(p.activation, ha[k])
        oa[k] = p.W2 @ hs[k] + p.b2
        shifted = oa[k] - oa[k].max()
        e = np.exp(shifted)
        total = e.sum()
        os[k] = e / total
        nll += np.log(total) - shifted[y[k]]
    return Forward(ha, hs, oa, os, float(nll / K) + l2(p, lam))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    K = len(y)
    dW1, db1 = np.zeros_like(p.W1), np.zeros_like(p.b1)
    dW2, db2 = np.zeros_like(p.W2), np.zeros_like(p.b2)
    for k in range(K):
        g_oa = fwd.os[k].copy()
        g_oa[y[k]] -= 1
        g_oa /= K
        g_ha = (p.W2.T @ g_oa) * act_grad(p.activation, fwd.ha[k], fwd.hs[k])
        dW2 += np.outer(g_oa, fwd.hs[k])
        db2 += g_oa
        dW1 += np.outer(g_ha, x[k])
        db1 += g_ha
    if lam:
        dW1 += lam * p.W1
        dW2 += lam * p.W2
    return Gradients(dW1, db1, dW2, db2)


fprop, bprop = fprop_kernel(forward), bprop_kernel(backward)
epoch = epoch_kernel(sgd_loop(forward, backward, update))
