"""MLP, ``numpy`` backend: matrix calculus over the whole minibatch."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .family import bprop_kernel, epoch_kernel, fprop_kernel, sgd_loop
from .types import Forward, Gradients, Params


def act(name: str, ha: np.ndarray) -> np.ndarray:
    """Hidden activation hs = act(ha), element-wise."""
    if name == "relu":
        return np.maximum(ha, 0)
    if name == "tanh":
        return np.tanh(ha)
    return np.logaddexp(0, ha)  # softplus log(1 + e^ha), without overflow


def act_grad(name: str, ha: np.ndarray, hs: np.ndarray) -> np.ndarray:
    """act'(ha), element-wise (relu'(0) = 0)."""
    if name == "relu":
        return (ha > 0).astype(ha.dtype)
    if name == "tanh":
        return 1 - hs * hs
    return expit(ha)  # softplus' = logistic sigmoid


def l2(p: Params, lam: float) -> float:
    return 0.5 * lam * (np.vdot(p.W1, p.W1) + np.vdot(p.W2, p.W2)) if lam else 0.0


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    ha = x @ p.W1.T
    ha += p.b1
    hs = act(p.activation, ha)
    oa = hs @ p.W2.T
    oa += p.b2
    shifted = oa - oa.max(axis=1, keepdims=True)
    os = np.exp(shifted)
    total = os.sum(axis=1, keepdims=True)
    os /= total
    # -log os[k, y_k] as log-sum-exp: finite even when os[k, y_k] underflows
    nll = np.log(total[:, 0]) - shifted[np.arange(len(y)), y]
    return Forward(ha, hs, oa, os, float(nll.mean()) + l2(p, lam))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    K = len(y)
    g_oa = fwd.os.copy()
    g_oa[np.arange(K), y] -= 1  # os - onehot(y), no one-hot matrix
    g_oa /= K
    g_ha = g_oa @ p.W2  # g_hs, then times act'(ha) in place
    g_ha *= act_grad(p.activation, fwd.ha, fwd.hs)
    dW2 = g_oa.T @ fwd.hs
    dW1 = g_ha.T @ x
    if lam:
        dW1 += lam * p.W1
        dW2 += lam * p.W2
    return Gradients(dW1, g_ha.sum(axis=0), dW2, g_oa.sum(axis=0))


def update(p: Params, g: Gradients, lr: float) -> None:
    for name, grad in g.arrays().items():
        param = getattr(p, name[1:])  # dW1 -> W1
        param -= lr * grad  # in place: the caller's arrays change


fprop, bprop = fprop_kernel(forward), bprop_kernel(backward)
epoch = epoch_kernel(sgd_loop(forward, backward, update))
