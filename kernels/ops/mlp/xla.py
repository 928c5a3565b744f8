"""MLP, ``jax`` backend: jax.numpy matrix calculus compiled by XLA. The SGD epoch is one
compiled function: ``lax.scan`` over the full minibatches, then one compiled step on the
short last minibatch, so no Python runs per minibatch; the trained arrays are written
back into the caller's Params."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..jax_support import is_jax, x64
from .family import bprop_kernel, epoch_kernel, fprop_kernel
from .types import Forward, Gradients, Params


def _act(name, ha):
    if name == "relu":
        return jnp.maximum(ha, 0)
    if name == "tanh":
        return jnp.tanh(ha)
    return jnp.logaddexp(0, ha)  # softplus without overflow


def _act_grad(name, ha, hs):
    if name == "relu":
        return (ha > 0).astype(ha.dtype)  # relu'(0) = 0, as the other backends
    if name == "tanh":
        return 1 - hs * hs
    return jax.nn.sigmoid(ha)


def _forward(W1, b1, W2, b2, x, y, lam, activation):
    ha = x @ W1.T + b1
    hs = _act(activation, ha)
    oa = hs @ W2.T + b2
    shifted = oa - oa.max(axis=1, keepdims=True)
    total = jnp.exp(shifted).sum(axis=1, keepdims=True)
    os = jnp.exp(shifted) / total
    # -log os[k, y_k] as log-sum-exp: finite even when os[k, y_k] underflows
    nll = jnp.log(total[:, 0]) - jnp.take_along_axis(shifted, y[:, None], axis=1)[:, 0]
    loss = nll.mean() + 0.5 * lam * (jnp.vdot(W1, W1) + jnp.vdot(W2, W2))
    return ha, hs, oa, os, loss


def _backward(W1, W2, x, y, ha, hs, os, lam, activation):
    K = x.shape[0]
    g_oa = (os - jax.nn.one_hot(y, os.shape[1], dtype=os.dtype)) / K
    g_ha = (g_oa @ W2) * _act_grad(activation, ha, hs)
    return (g_ha.T @ x + lam * W1, g_ha.sum(axis=0), g_oa.T @ hs + lam * W2, g_oa.sum(axis=0))


_forward_jit = jax.jit(_forward, static_argnames="activation")
_backward_jit = jax.jit(_backward, static_argnames="activation")


def _sgd_step(params, x, y, lr, lam, activation):
    W1, b1, W2, b2 = params
    ha, hs, _, os, loss = _forward(W1, b1, W2, b2, x, y, lam, activation)
    grads = _backward(W1, W2, x, y, ha, hs, os, lam, activation)
    return tuple(w - lr * g for w, g in zip(params, grads)), loss


@partial(jax.jit, static_argnames="activation")
def _scan_epoch(params, Xb, yb, lr, lam, activation):
    """SGD over the minibatches Xb (B, K, d), yb (B, K); returns the parameters and the
    B losses (a non-finite loss is found afterwards: the caller restores p then)."""
    return jax.lax.scan(
        lambda q, batch: _sgd_step(q, *batch, lr, lam, activation), params, (Xb, yb)
    )


_step_jit = jax.jit(_sgd_step, static_argnames="activation")


def forward(p: Params, x: np.ndarray, y: np.ndarray, lam: float) -> Forward:
    with x64(True):
        *arrays, loss = _forward_jit(*p.arrays().values(), x, y, p.dtype.type(lam), p.activation)
        keep = is_jax(x)  # jax arrays in: the results stay on their device
        return Forward(*(a if keep else np.asarray(a) for a in arrays), float(loss))


def backward(p: Params, x: np.ndarray, y: np.ndarray, fwd: Forward, lam: float) -> Gradients:
    with x64(True):
        g = _backward_jit(p.W1, p.W2, x, y, fwd.ha, fwd.hs, fwd.os, p.dtype.type(lam), p.activation)
        return Gradients(*(a if is_jax(x) else np.array(a) for a in g))


def run(p: Params, X: np.ndarray, y: np.ndarray, batch_size: int, lr: float, lam: float):
    """The whole epoch compiled; ``(sum of K * loss, first non-finite minibatch or -1,
    its loss)``."""
    full = len(X) // batch_size * batch_size
    lr, lam = p.dtype.type(lr), p.dtype.type(lam)
    with x64(True):
        params = tuple(p.arrays().values())
        losses = []
        if full:
            params, scanned = _scan_epoch(
                params,
                X[:full].reshape(-1, batch_size, X.shape[1]),
                y[:full].reshape(-1, batch_size),
                lr,
                lam,
                p.activation,
            )
            losses.append(np.asarray(scanned, np.float64) * batch_size)
        if full < len(X):
            params, tail = _step_jit(params, X[full:], y[full:], lr, lam, p.activation)
            losses.append(np.array([float(tail) * (len(X) - full)]))
        weighted = np.concatenate(losses)
        bad = np.flatnonzero(~np.isfinite(weighted))
        if len(bad):
            return 0.0, int(bad[0]), float(weighted[bad[0]])
        for target, value in zip(p.arrays().values(), params):
            target[...] = np.asarray(value)
        return float(weighted.sum()), -1, 0.0


fprop = fprop_kernel(forward, takes=is_jax)
bprop = bprop_kernel(backward, takes=is_jax)
epoch = epoch_kernel(run, takes=is_jax)
