"""MLP, ``numba`` backend: compiled loops around BLAS products; the whole SGD
epoch runs in compiled code, with no Python call per minibatch."""
from __future__ import annotations

import math

import numba
import numpy as np

from ..numba_support import exp_nonpositive, threads
from . import ACTIVATIONS, Forward, Gradients, Params, bprop_kernel, epoch_kernel, fprop_kernel

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
    np.dot(g_ha.T, x, dW1)
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
# Inside the epoch the hidden layer is kept transposed, haT = W1 x^T (dh, K): BLAS runs
# that layout of the product faster than x W1^T, and it lets threads split the work by
# blocks of hidden units, each owning its rows of haT, dW1 = g_haT x and W1, so that
# no partial gradients need summing. Each thread calls single-threaded BLAS.

@numba.njit(cache=True, inline="always")
def _hidden_forward(W1, b1, code, x, haT, hsT, r0, r1):
    """Rows r0:r1 of haT = W1 x^T + b1 and hsT = act(haT)."""
    np.dot(W1[r0:r1], x.T, haT[r0:r1])
    for j in range(r0, r1):
        for k in range(x.shape[0]):
            haT[j, k] += b1[j]
            hsT[j, k] = _act(code, haT[j, k])


@numba.njit(cache=True, inline="always")
def _output(W2, b2, y, hsT, oaT, g_oaT, g_haT, dW2, db2, top, total):
    """oaT = W2 hsT + b2, softmax, g_oaT = (os - onehot) / K, dW2, db2 (without lam) and
    g_haT = W2^T g_oaT (the act' factor comes later); returns the mean cross-entropy.
    top, total (K,) are scratch. Every loop runs over the K examples, contiguous in
    the transposed layout, so the exponentials vectorize (libm's exp does not)."""
    m, K = oaT.shape
    np.dot(W2, hsT, oaT)
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
    np.dot(g_oaT, hsT.T, dW2)
    np.dot(W2.T, g_oaT, g_haT)             # g_hsT, before W2 changes
    for c in range(m):
        db2[c] = 0.0
        for k in range(K):
            db2[c] += g_oaT[c, k]
    return nll / K


@numba.njit(cache=True, inline="always")
def _hidden_backward_step(W1, b1, W2, code, lr, lam, x, haT, hsT, g_oaT, g_haT, dW1, r0, r1):
    """Rows r0:r1: g_haT = g_hsT * act'(haT), dW1 = g_haT x, and the SGD step of W1, b1."""
    K = g_oaT.shape[1]
    for j in range(r0, r1):
        for k in range(K):                 # g_haT holds g_hsT = W2^T g_oaT (see _output)
            g_haT[j, k] *= _act_grad(code, haT[j, k], hsT[j, k])
    np.dot(g_haT[r0:r1], x, dW1[r0:r1])
    for j in range(r0, r1):
        db = 0.0
        for k in range(K):
            db += g_haT[j, k]
        b1[j] -= lr * db
        for i in range(W1.shape[1]):
            W1[j, i] -= lr * (dW1[j, i] + lam * W1[j, i])


@numba.njit(cache=True, inline="always")
def _output_step(W2, b2, lr, lam, dW2, db2):
    for c in range(W2.shape[0]):
        b2[c] -= lr * db2[c]
        for j in range(W2.shape[1]):
            W2[c, j] -= lr * (dW2[c, j] + lam * W2[c, j])


@numba.njit(cache=True, inline="always")
def _buffers(W1, W2, batch_size):
    (dh, d), m, dt = W1.shape, W2.shape[0], W1.dtype
    flat = np.empty((7, max(dh, m) * batch_size), dt)   # haT, hsT, g_haT, oaT, g_oaT, top, total
    return flat, np.empty((dh, d), dt), np.empty((m, dh), dt), np.empty(m, dt)


@numba.njit(cache=True, inline="always")
def _views(flat, dh, m, K):
    """haT, hsT, g_haT (dh, K), oaT, g_oaT (m, K) and top, total (K,): C-contiguous views
    of the buffers."""
    return (flat[0, :dh * K].reshape(dh, K), flat[1, :dh * K].reshape(dh, K),
            flat[2, :dh * K].reshape(dh, K), flat[3, :m * K].reshape(m, K),
            flat[4, :m * K].reshape(m, K), flat[5, :K], flat[6, :K])


# contract: multiply-adds may fuse into FMAs (the exponential's polynomial, the updates)
@numba.njit(cache=True, fastmath={"contract"})
def _epoch(W1, b1, W2, b2, code, X, y, batch_size, lr, lam):
    """SGD over X in order; returns (sum of K * loss, index of a non-finite minibatch or -1, its loss)."""
    (dh, d), m = W1.shape, W2.shape[0]
    flat, dW1, dW2, db2 = _buffers(W1, W2, batch_size)
    total = 0.0
    for index, start in enumerate(range(0, X.shape[0], batch_size)):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        K = x.shape[0]
        haT, hsT, g_haT, oaT, g_oaT, top, tot = _views(flat, dh, m, K)
        l2 = _l2(W1, W2, lam)
        _hidden_forward(W1, b1, code, x, haT, hsT, 0, dh)
        loss = _output(W2, b2, t, hsT, oaT, g_oaT, g_haT, dW2, db2, top, tot) + l2
        if not math.isfinite(loss):
            return total, index, loss
        _hidden_backward_step(W1, b1, W2, code, lr, lam, x, haT, hsT, g_oaT, g_haT, dW1, 0, dh)
        _output_step(W2, b2, lr, lam, dW2, db2)
        total += loss * K
    return total, -1, 0.0


@numba.njit(cache=True, parallel=True, fastmath={"contract"})
def _epoch_parallel(W1, b1, W2, b2, code, X, y, batch_size, lr, lam, T):
    """_epoch with the hidden units split into T blocks, one per thread.

    A twin of _epoch rather than one function compiled twice: numba's cache keys
    on the function, not on parallel=True, and the serial variant must not load
    the parallel code (slow to load) nor start the thread pool."""
    (dh, d), m = W1.shape, W2.shape[0]
    flat, dW1, dW2, db2 = _buffers(W1, W2, batch_size)
    block = -(-dh // T)
    total = 0.0
    for index, start in enumerate(range(0, X.shape[0], batch_size)):
        x, t = X[start:start + batch_size], y[start:start + batch_size]
        K = x.shape[0]
        haT, hsT, g_haT, oaT, g_oaT, top, tot = _views(flat, dh, m, K)
        l2 = _l2(W1, W2, lam)
        for b in numba.prange(T):
            _hidden_forward(W1, b1, code, x, haT, hsT, min(b * block, dh), min(b * block + block, dh))
        loss = _output(W2, b2, t, hsT, oaT, g_oaT, g_haT, dW2, db2, top, tot) + l2
        if not math.isfinite(loss):
            return total, index, loss
        for b in numba.prange(T):
            _hidden_backward_step(W1, b1, W2, code, lr, lam, x, haT, hsT, g_oaT, g_haT, dW1,
                                  min(b * block, dh), min(b * block + block, dh))
        _output_step(W2, b2, lr, lam, dW2, db2)
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
    """The whole epoch in compiled code on the calling thread, whatever numba's thread
    count (its products on BLAS's threads): where fork/join per minibatch costs more
    than the split saves (small K)."""
    return _epoch(*_arguments(p, X, y, batch_size, lr, lam))


fprop, bprop, epoch = fprop_kernel(forward), bprop_kernel(backward), epoch_kernel(run)
epoch_serial = epoch_kernel(run_serial)
