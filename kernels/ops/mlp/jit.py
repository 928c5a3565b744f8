"""MLP, ``numba`` backend: compiled loops around our own register-blocked matrix product
(microkernel.py; BLAS for the small m = 10 ones); the SGD epoch runs wholly compiled."""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import microkernel, numba_cache, numba_support, tile
from ..microkernel import _gemm, _gemm_rows, _product, lanes_of
from ..numba_support import exp_nonpositive, threads
from . import types as mlp_types
from .family import bprop_kernel, epoch_kernel, fprop_kernel
from .types import ACTIVATIONS, Forward, Gradients, Params

numba_cache.track(__file__, microkernel, tile, numba_support, mlp_types, key=microkernel.BLOCK)

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
    _product(x, W1.T, ha)
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
    """lam / 2 (|W1|^2 + |W2|^2); W1 may be the epoch's padded W1T."""
    if lam == 0:
        return 0.0
    return 0.5 * lam * (np.sum(W1 * W1) + np.sum(W2 * W2))


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
            g_ha[k, j] *= _act_grad(code, ha[k, j], hs[k, j])
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


# ---- the SGD epoch --------------------------------------------------------------------
# Inside the epoch W1 is kept transposed and padded, W1T (d, dhp) with dhp = dh rounded up
# to whole vectors (zero columns past dh), so that both large products are the layout of
# our register-blocked microkernel (microkernel.py): forward ha = x W1T, backward
# W1T = (1 - lr lam) W1T - lr x^T g_ha, the update fused into the product's stores.
# Threads split the hidden units into blocks of columns, each owning its columns of
# ha, g_ha and W1T, so that no partial gradients need summing. W1 is written back once.

@numba.njit(cache=True, inline="always")
def _hidden_forward(W1T, b1, code, x, ha, hs, c0, c1):
    """Columns c0:c1 of ha = x W1T and of ha + b1, hs = act(ha) (c1 may pass dh)."""
    _gemm_rows(x, W1T[:, c0:c1], ha[:, c0:c1], ha.dtype.type(1), ha.dtype.type(0))
    for k in range(x.shape[0]):
        for j in range(c0, min(c1, hs.shape[1])):
            ha[k, j] += b1[j]
            hs[k, j] = _act(code, ha[k, j])


@numba.njit(cache=True, inline="always")
def _output(W2, b2, y, hs, oaT, g_oaT, g_hs, dW2, db2, top, total):
    """oaT = W2 hs^T + b2, softmax, g_oaT = (os - onehot) / K, dW2, db2 (without lam) and
    g_hs = g_oa W2; returns the mean cross-entropy. top, total (K,) are scratch. Every
    loop runs over the K examples, contiguous in the transposed layout, so the
    exponentials vectorize (libm's exp does not). These products are 4 % of the FLOP:
    BLAS's, the microkernel gains nothing at m = 10."""
    m, K = oaT.shape
    np.dot(W2, hs.T, oaT)
    top[:] = -np.inf
    for c in range(m):
        for k in range(K):
            oaT[c, k] += b2[c]
            top[k] = max(top[k], oaT[c, k])
    total[:] = 0.0
    for c in range(m):
        for k in range(K):
            g_oaT[c, k] = exp_nonpositive(oaT[c, k] - top[k])   # NaN stays NaN
            total[k] += g_oaT[c, k]
    nll = 0.0
    for k in range(K):
        nll += math.log(total[k]) - (oaT[y[k], k] - top[k])    # -log os[k, y_k], as log-sum-exp
        total[k] = 1.0 / (total[k] * K)
    for c in range(m):
        for k in range(K):
            g_oaT[c, k] *= total[k]
    for k in range(K):
        g_oaT[y[k], k] -= 1.0 / K
    np.dot(g_oaT, hs, dW2)
    np.dot(g_oaT.T, W2, g_hs)              # before W2 changes
    for c in range(m):
        db2[c] = 0.0
        for k in range(K):
            db2[c] += g_oaT[c, k]
    return nll / K


@numba.njit(cache=True, inline="always")
def _hidden_backward_step(W1T, b1, code, lr, lam, x, ha, hs, g_hs, g_ha, db1, c0, c1):
    """Columns c0:c1: g_ha = g_hs * act'(ha), and the SGD step of b1 and of W1T, fused
    into the product: W1T = (1 - lr lam) W1T - lr x^T g_ha (g_ha is 0 past dh).
    db1 (dh,) is scratch; every loop runs along rows, so it vectorizes."""
    K, dh = g_hs.shape
    c1h = min(c1, dh)
    db1[c0:c1h] = 0.0
    for k in range(K):
        for j in range(c0, c1h):
            g_ha[k, j] = g_hs[k, j] * _act_grad(code, ha[k, j], hs[k, j])
            db1[j] += g_ha[k, j]
    b1[c0:c1h] -= lr * db1[c0:c1h]
    _gemm(x.T, g_ha[:, c0:c1], W1T[:, c0:c1], -lr, 1 - lr * lam)


@numba.njit(cache=True, inline="always")
def _output_step(W2, b2, lr, lam, dW2, db2):
    for c in range(W2.shape[0]):
        b2[c] -= lr * db2[c]
        for j in range(W2.shape[1]):
            W2[c, j] -= lr * (dW2[c, j] + lam * W2[c, j])


@numba.njit(cache=True, inline="always")
def _buffers(W1, W2, batch_size):
    """W1T (d, dhp) holding W1^T and zeros; ha, g_ha (batch_size, dhp), g_ha zero past
    dh; hs, g_hs (batch_size, dh); flat rows for oaT, g_oaT (m, K), top, total (K,);
    dW2 (m, dh), db2 (m,), db1 (dh,)."""
    (dh, d), m, dt = W1.shape, W2.shape[0], W1.dtype
    W1T = np.zeros((d, -(-dh // lanes_of(W1)) * lanes_of(W1)), dt)
    W1T[:, :dh] = W1.T
    dhp = W1T.shape[1]
    ha, g_ha = np.empty((batch_size, dhp), dt), np.zeros((batch_size, dhp), dt)
    hs, g_hs = np.empty((batch_size, dh), dt), np.empty((batch_size, dh), dt)
    flat = np.empty((4, m * batch_size), dt)
    return W1T, ha, g_ha, hs, g_hs, flat, np.empty((m, dh), dt), np.empty(m, dt), np.empty(dh, dt)


@numba.njit(cache=True, inline="always")
def _views(flat, m, K):
    """oaT, g_oaT (m, K) and top, total (K,): C-contiguous views of the flat buffer."""
    return flat[0, :m * K].reshape(m, K), flat[1, :m * K].reshape(m, K), flat[2, :K], flat[3, :K]


# contract: multiply-adds may fuse into FMAs (the exponential's polynomial, the updates)
@numba.njit(cache=True, fastmath={"contract"})
def _epoch(W1, b1, W2, b2, code, X, y, batch_size, lr, lam):
    """SGD over X in order; returns (sum of K * loss, index of a non-finite minibatch or -1,
    its loss). W1 is updated at the end only (the caller restores all on divergence)."""
    m = W2.shape[0]
    W1T, ha_, g_ha_, hs_, g_hs_, flat, dW2, db2, db1 = _buffers(W1, W2, batch_size)
    dhp = W1T.shape[1]
    total = 0.0
    for index, start in enumerate(range(0, X.shape[0], batch_size)):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        K = x.shape[0]
        ha, g_ha, hs, g_hs = ha_[:K], g_ha_[:K], hs_[:K], g_hs_[:K]
        oaT, g_oaT, top, tot = _views(flat, m, K)
        l2 = _l2(W1T, W2, lam)       # W1T is 0 past dh
        _hidden_forward(W1T, b1, code, x, ha, hs, 0, dhp)
        loss = _output(W2, b2, t, hs, oaT, g_oaT, g_hs, dW2, db2, top, tot) + l2
        if not math.isfinite(loss):
            return total, index, loss
        _hidden_backward_step(W1T, b1, code, lr, lam, x, ha, hs, g_hs, g_ha, db1, 0, dhp)
        _output_step(W2, b2, lr, lam, dW2, db2)
        total += loss * K
    W1[:] = W1T[:, :W1.shape[0]].T
    return total, -1, 0.0


@numba.njit(cache=True, parallel=True, fastmath={"contract"})
def _epoch_parallel(W1, b1, W2, b2, code, X, y, batch_size, lr, lam, T):
    """_epoch with the hidden units split into T blocks of whole vectors, one per thread:
    a twin, since numba's cache keys on the function, not on parallel=True (the serial
    variant must not load the parallel code nor start the thread pool)."""
    m = W2.shape[0]
    W1T, ha_, g_ha_, hs_, g_hs_, flat, dW2, db2, db1 = _buffers(W1, W2, batch_size)
    dhp, width = W1T.shape[1], lanes_of(W1T)
    block = -(-dhp // (T * width)) * width
    total = 0.0
    for index, start in enumerate(range(0, X.shape[0], batch_size)):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        K = x.shape[0]
        ha, g_ha, hs, g_hs = ha_[:K], g_ha_[:K], hs_[:K], g_hs_[:K]
        oaT, g_oaT, top, tot = _views(flat, m, K)
        l2 = _l2(W1T, W2, lam)       # W1T is 0 past dh
        for b in numba.prange(T):
            _hidden_forward(W1T, b1, code, x, ha, hs, min(b * block, dhp), min(b * block + block, dhp))
        loss = _output(W2, b2, t, hs, oaT, g_oaT, g_hs, dW2, db2, top, tot) + l2
        if not math.isfinite(loss):
            return total, index, loss
        for b in numba.prange(T):
            _hidden_backward_step(W1T, b1, code, lr, lam, x, ha, hs, g_hs, g_ha, db1,
                                  min(b * block, dhp), min(b * block + block, dhp))
        _output_step(W2, b2, lr, lam, dW2, db2)
        total += loss * K
    W1[:] = W1T[:, :W1.shape[0]].T
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
    _backward(p.W1, p.W2, code, lam, K, x, y, ha, hs, os, np.empty((K, m), p.dtype),
              np.empty((K, dh), p.dtype), g.dW1, g.db1, g.dW2, g.db2)
    return g


def _arguments(p: Params, X, y, batch_size, lr, lam) -> tuple:
    code = ACTIVATIONS.index(p.activation)
    # lr and lam in the parameters' dtype: float32 updates then stay float32 (16 lanes)
    return p.W1, p.b1, p.W2, p.b2, code, X, y, batch_size, p.dtype.type(lr), p.dtype.type(lam)


def run(p: Params, X: np.ndarray, y: np.ndarray, batch_size: int, lr: float, lam: float):
    """The whole epoch in compiled code (no Python call per minibatch), the hidden units
    split over numba's threads when it has more than one; see _epoch."""
    args = _arguments(p, X, y, batch_size, lr, lam)
    n = threads()
    if n == 1:
        return _epoch(*args)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="blas"):   # numba's threads each call BLAS: no nesting
        return _epoch_parallel(*args, n)


def run_serial(p: Params, X: np.ndarray, y: np.ndarray, batch_size: int, lr: float, lam: float):
    """The whole epoch compiled, on the calling thread whatever numba's thread count (its
    products on BLAS's threads): where fork/join costs more than the split saves."""
    return _epoch(*_arguments(p, X, y, batch_size, lr, lam))


fprop, bprop, epoch, epoch_serial = (fprop_kernel(forward), bprop_kernel(backward),
                                     epoch_kernel(run), epoch_kernel(run_serial))
