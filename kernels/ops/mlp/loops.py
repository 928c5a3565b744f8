"""MLP, ``python`` backend: plain loops over scalars (the reference, about an hour
per Fashion-MNIST epoch). Arrays are turned into lists at the boundary, so the
loops touch no NumPy call."""

from __future__ import annotations

import math

import numpy as np

from .family import bprop_kernel, epoch_kernel, fprop_kernel, sgd_loop
from .types import Forward, Gradients, Params


def act(name: str, v: float) -> float:
    if name == "relu":
        return v if v > 0 else 0.0 * v  # 0 * NaN keeps NaN, as np.maximum does
    if name == "tanh":
        return math.tanh(v)
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))  # softplus without overflow


def act_grad(name: str, v: float, h: float) -> float:
    if name == "relu":
        return 1.0 if v > 0 else 0.0
    if name == "tanh":
        return 1.0 - h * h
    if v >= 0:  # logistic sigmoid, both tails safe
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def affine(W, b, rows):
    """[[sum_i W[j][i] * r[i] + b[j] for j] for r in rows]."""
    out = []
    for r in rows:
        out_row = []
        for Wj, bj in zip(W, b):
            s = bj
            for w, v in zip(Wj, r):
                s += w * v
            out_row.append(s)
        out.append(out_row)
    return out


def l2(W1, W2, lam: float) -> float:
    if not lam:
        return 0.0
    s = 0.0
    for W in (W1, W2):
        for row in W:
            for w in row:
                s += w * w
    return 0.5 * lam * s


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    W1, b1, W2, b2 = (a.tolist() for a in p.arrays().values())
    ha = affine(W1, b1, x.tolist())
    hs = [[act(p.activation, v) for v in row] for row in ha]
    oa = affine(W2, b2, hs)
    os, nll = [], 0.0
    for row, label in zip(oa, y.tolist()):
        top = max(row)
        e = [math.exp(v - top) for v in row]
        total = sum(e)
        os.append([v / total for v in e])
        nll += math.log(total) - (row[label] - top)  # -log os[k, y_k], as log-sum-exp
    K = len(oa)
    arrays = (np.array(a, dtype=p.dtype) for a in (ha, hs, oa, os))
    return Forward(*arrays, nll / K + l2(W1, W2, lam))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    W1, _, W2, _ = (a.tolist() for a in p.arrays().values())
    xs, ys = x.tolist(), y.tolist()
    ha, hs, os = fwd.ha.tolist(), fwd.hs.tolist(), fwd.os.tolist()
    K, (d, dh, m) = len(xs), p.shape
    dW1 = [[lam * w for w in row] for row in W1]
    dW2 = [[lam * w for w in row] for row in W2]
    db1, db2 = [0.0] * dh, [0.0] * m
    for k in range(K):
        g_oa = [(os[k][c] - (1.0 if c == ys[k] else 0.0)) / K for c in range(m)]
        for c in range(m):
            db2[c] += g_oa[c]
            row = dW2[c]
            for j in range(dh):
                row[j] += g_oa[c] * hs[k][j]
        for j in range(dh):
            g_hs = 0.0
            for c in range(m):
                g_hs += g_oa[c] * W2[c][j]
            g_ha = g_hs * act_grad(p.activation, ha[k][j], hs[k][j])
            db1[j] += g_ha
            row, xk = dW1[j], xs[k]
            for i in range(d):
                row[i] += g_ha * xk[i]
    return Gradients(*(np.array(a, dtype=p.dtype) for a in (dW1, db1, dW2, db2)))


def update(p: Params, g: Gradients, lr: float) -> None:
    for name, grad in g.arrays().items():
        param = getattr(p, name[1:])  # dW1 -> W1
        flat, gflat = param.reshape(-1), grad.reshape(-1).tolist()
        values = flat.tolist()
        for i, gi in enumerate(gflat):
            values[i] -= lr * gi
        flat[:] = values  # in place, one write-back


fprop, bprop = fprop_kernel(forward), bprop_kernel(backward)
epoch = epoch_kernel(sgd_loop(forward, backward, update))
