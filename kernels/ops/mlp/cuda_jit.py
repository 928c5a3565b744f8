"""MLP, ``numba-cuda`` backend: the loops compiled for the GPU, one device thread per
output element of each product (per hidden unit of an example, per weight), one per
example for the softmax; the SGD epoch keeps the parameters and every buffer on the
device and launches seven kernels per minibatch, with no copy until the end.

Inputs on the GPU (``__cuda_array_interface__``) stay there: fprop and bprop then
return device arrays. NumPy inputs are copied to the device and the results back. The
parameters (a ``Params`` of NumPy arrays) go to the device and back once per call: a
few hundred kB against an epoch's 188 MB of float32 images.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..arrays import on_device, to_host
from ..cuda_support import THREADS, blocks, device_array
from .family import bprop_kernel, epoch_kernel, fprop_kernel
from .types import ACTIVATIONS, Forward, Gradients, Params

RELU, TANH, SOFTPLUS, IDENTITY = 0, 1, 2, 3
assert ACTIVATIONS == ("relu", "tanh", "softplus")


@cuda.jit(device=True)
def _act(code, v, one):
    zero = one - one
    if code == RELU:
        return v if v > zero else zero * v  # NaN stays NaN, as in the numba backend
    if code == TANH:
        return math.tanh(v)
    if code == SOFTPLUS:
        return max(v, zero) + math.log1p(math.exp(-abs(v)))
    return v


@cuda.jit(device=True)
def _act_grad(code, v, h, one):
    if code == RELU:
        return one if v > one - one else one - one
    if code == TANH:
        return one - h * h
    return one / (one + math.exp(-v))  # softplus' = logistic sigmoid


@cuda.jit(cache=True)
def _layer(x, W, b, za, zs, code, one):
    """za = x @ W.T + b, zs = act(za): (K, n), one thread per element."""
    K, n = za.shape
    t = cuda.grid(1)
    if t >= K * n:
        return
    k, j = t // n, t % n
    s = b[j]
    for i in range(x.shape[1]):
        s += x[k, i] * W[j, i]
    za[k, j] = s
    zs[k, j] = _act(code, s, one)


@cuda.jit(cache=True)
def _softmax_loss(oa, y, os, nll, g_oa, total, index):
    """Per example k: os[k] = softmax(oa[k]), nll[k] = -log os[k, y_k] (as log-sum-exp),
    g_oa[k] = (os[k] - onehot(y_k)) / K, and total[index] += nll[k]."""
    K, m = oa.shape
    k = cuda.grid(1)
    if k >= K:
        return
    top = oa[k, 0]
    for c in range(m):
        top = max(top, oa[k, c])
    s = top - top  # zero in oa's dtype
    for c in range(m):
        os[k, c] = math.exp(oa[k, c] - top)
        s += os[k, c]
    for c in range(m):
        os[k, c] /= s
        g_oa[k, c] = (os[k, c] - (c == y[k])) / K
    nll[k] = math.log(s) - (oa[k, y[k]] - top)
    cuda.atomic.add(total, index, nll[k])


@cuda.jit(cache=True)
def _hidden_grad(g_oa, W2, ha, hs, g_ha, code, one):
    """g_ha = (g_oa @ W2) * act'(ha): (K, dh), one thread per element."""
    K, dh = g_ha.shape
    t = cuda.grid(1)
    if t >= K * dh:
        return
    k, j = t // dh, t % dh
    s = g_oa[k, 0] * W2[0, j]
    for c in range(1, g_oa.shape[1]):
        s += g_oa[k, c] * W2[c, j]
    g_ha[k, j] = s * _act_grad(code, ha[k, j], hs[k, j], one)


@cuda.jit(cache=True)
def _weights(g, a, W, b, lam, step, lr, dW, db, squares, index):
    """dW = g.T @ a + lam W (r, c) and db = sum_k g (r,); one thread per element of W, then
    one per bias. ``step``: W -= lr dW and b -= lr db in place instead (dW, db unused),
    and squares[index] += W**2 before the update (for the loss's weight decay)."""
    K, (r, c) = g.shape[0], W.shape
    t = cuda.grid(1)
    if t < r * c:
        i, j = t // c, t % c
        s = lam * W[i, j]
        for k in range(K):
            s += g[k, i] * a[k, j]
        if step:
            if lam > 0:
                cuda.atomic.add(squares, index, W[i, j] * W[i, j])
            W[i, j] -= lr * s
        else:
            dW[i, j] = s
    elif t < r * c + r:
        i = t - r * c
        s = lam - lam  # zero in the dtype
        for k in range(K):
            s += g[k, i]
        if step:
            b[i] -= lr * s
        else:
            db[i] = s


def _launch(kernel, n, *args):
    kernel[blocks(n), THREADS](*args)


def _device(a):
    return device_array(a) if on_device(a) else cuda.to_device(a)


def _on_device(p: Params):
    return [cuda.to_device(a) for a in p.arrays().values()]


def _code(p: Params) -> int:
    return ACTIVATIONS.index(p.activation)


def _fill_forward(W1, b1, W2, b2, code, x, y, ha, hs, oa, os, nll, g_oa, total, index, one):
    K, dh, m = x.shape[0], W1.shape[0], W2.shape[0]
    _launch(_layer, K * dh, x, W1, b1, ha, hs, code, one)
    _launch(_layer, K * m, hs, W2, b2, oa, oa, IDENTITY, one)
    _launch(_softmax_loss, K, oa, y, os, nll, g_oa, total, index)


def _buffers(K, dh, m, dtype):
    empty = lambda *shape: cuda.device_array(shape, dtype)
    return empty(K, dh), empty(K, dh), empty(K, m), empty(K, m), empty(K), empty(K, m), empty(K, dh)


def forward(p: Params, x, y, lam: float) -> Forward:
    W1, b1, W2, b2 = _on_device(p)
    d_x, d_y = _device(x), _device(y)
    (K, _), (dh, m) = d_x.shape, (W1.shape[0], W2.shape[0])
    ha, hs, oa, os, nll, g_oa, _ = _buffers(K, dh, m, p.dtype)
    total = cuda.to_device(np.zeros(1, p.dtype))
    _fill_forward(
        W1, b1, W2, b2, _code(p), d_x, d_y, ha, hs, oa, os, nll, g_oa, total, 0, p.dtype.type(1)
    )
    loss = float(total.copy_to_host()[0]) / K
    if lam:
        loss += 0.5 * lam * float(np.vdot(p.W1, p.W1) + np.vdot(p.W2, p.W2))
    arrays = (ha, hs, oa, os)
    return Forward(*(arrays if on_device(x) else map(to_host, arrays)), loss)


def backward(p: Params, x, y, fwd: Forward, lam: float) -> Gradients:
    W1, b1, W2, b2 = _on_device(p)
    d_x, d_y = _device(x), _device(y)
    ha, hs, oa = map(_device, (fwd.ha, fwd.hs, fwd.oa))
    (K, _), (dh, d), m = d_x.shape, W1.shape, W2.shape[0]
    *_, os, nll, g_oa, g_ha = _buffers(K, dh, m, p.dtype)
    one, code, unused = p.dtype.type(1), _code(p), cuda.to_device(np.zeros(1, p.dtype))
    # g_oa from oa again (one softmax launch, into scratch: fwd is left as it is)
    _launch(_softmax_loss, K, oa, d_y, os, nll, g_oa, unused, 0)
    _launch(_hidden_grad, K * dh, g_oa, W2, ha, hs, g_ha, code, one)
    grads = [cuda.device_array(a.shape, p.dtype) for a in (W1, b1, W2, b2)]
    lam = p.dtype.type(lam)
    _launch(_weights, m * dh + m, g_oa, hs, W2, b2, lam, False, lam, grads[2], grads[3], unused, 0)
    _launch(
        _weights, dh * d + dh, g_ha, d_x, W1, b1, lam, False, lam, grads[0], grads[1], unused, 0
    )
    return Gradients(*(grads if on_device(x) else map(to_host, grads)))


def run(p: Params, X, y, batch_size: int, lr: float, lam: float):
    W1, b1, W2, b2 = _on_device(p)
    d_X, d_y = _device(X), _device(y)
    N, (dh, d), m = d_X.shape[0], W1.shape, W2.shape[0]
    n_batches = -(-N // batch_size)
    ha, hs, oa, os, nll, g_oa, g_ha = _buffers(batch_size, dh, m, p.dtype)
    totals = cuda.to_device(np.zeros(n_batches, p.dtype))  # per minibatch: sum of nll
    squares = cuda.to_device(np.zeros(n_batches, p.dtype))  # per minibatch: |W1|^2 + |W2|^2
    one, code, lr_, lam_ = p.dtype.type(1), _code(p), p.dtype.type(lr), p.dtype.type(lam)
    for index, start in enumerate(range(0, N, batch_size)):
        K = min(batch_size, N - start)
        x, t = d_X[start : start + K], d_y[start : start + K]
        views = [a[:K] for a in (ha, hs, oa, os, nll, g_oa, g_ha)]
        _fill_forward(W1, b1, W2, b2, code, x, t, *views[:6], totals, index, one)
        _launch(_hidden_grad, K * dh, views[5], W2, views[0], views[1], views[6], code, one)
        _launch(
            _weights,
            m * dh + m,
            views[5],
            views[1],
            W2,
            b2,
            lam_,
            True,
            lr_,
            W2,
            b2,
            squares,
            index,
        )
        _launch(_weights, dh * d + dh, views[6], x, W1, b1, lam_, True, lr_, W1, b1, squares, index)
    for param, device in zip(p.arrays().values(), (W1, b1, W2, b2)):
        device.copy_to_host(param)
    sizes = np.minimum(batch_size, N - batch_size * np.arange(n_batches))
    losses = totals.copy_to_host() / sizes + 0.5 * lam * squares.copy_to_host()
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return float(losses[: bad[0]] @ sizes[: bad[0]]), int(bad[0]), float(losses[bad[0]])
    return float(losses @ sizes), -1, 0.0


fprop = fprop_kernel(forward, takes=on_device)
bprop = bprop_kernel(backward, takes=on_device)
epoch = epoch_kernel(run, takes=on_device)
