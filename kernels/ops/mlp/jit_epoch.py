"""MLP, ``numba`` backend: the SGD epoch, wholly compiled (no Python call per minibatch).

Inside the epoch W1's first dm rows are kept transposed, W1T (d, dm), dm whole vectors,
so that both large products are the layout of our register-blocked microkernel
(microkernel.py): forward ha = x W1T, backward W1T = (1 - lr lam) W1T - lr x^T g_ha,
the update fused into the product's stores. Where dh ends in a few columns (at most a
quarter of a vector, or what autotune measured: ``blocking.tail_most``) and a
minibatch's x stays in the cache (``blocking.cached_bytes``), dm = dh rounded down and
those last rows of W1, W1t, go through BLAS in W1's own layout; else dm = dh rounded up,
W1T's last columns zeros, and W1t has no rows. A padded vector costs the FMAs of a whole
one (dh = 50 in float32: 14 columns of padding, a fifth of the epoch's FMAs); BLAS costs
more per column than the microkernel, so it pays only for a few (measured on the Xeon
with 512- and 256-bit vectors, docs/design.md 7.1). Threads split the hidden units into
blocks of columns, each owning its columns of ha, g_ha and W1T (the block holding column
dm owns W1t), so that no partial gradients need summing. W1 is written back once.
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np

from .. import blocking, microkernel, numba_cache, numba_support, tile
from ..microkernel import _gemm, _gemm_ahead, _gemm_rows, lanes_of
from ..numba_support import exp_nonpositive, threads
from . import jit_layout, jit_parts
from .family import epoch_kernel
from .jit_layout import buffers, holds_tail
from .jit_parts import act, act_grad, l2
from .types import ACTIVATIONS, Params

numba_cache.track(
    __file__, microkernel, tile, numba_support, jit_parts, jit_layout, key=microkernel.BLOCK
)


@numba.njit(cache=True, inline="always")
def _hidden_forward(W1T, W1t, b1, code, x, ha, hat, hs, c0, c1):
    """Columns c0:c1 of ha = x [W1T | W1t^T] and of ha + b1, hs = act(ha) (c1 may pass
    dh); hat (K, dh - dm) is scratch."""
    dm = W1T.shape[1]
    if c0 < dm:
        cm = min(c1, dm)
        _gemm_rows(x, W1T[:, c0:cm], ha[:, c0:cm], ha.dtype.type(1), ha.dtype.type(0))
    if holds_tail(W1T, W1t, c0, c1):
        np.dot(x, W1t.T, hat)
        for k in range(x.shape[0]):
            for j in range(hat.shape[1]):
                ha[k, dm + j] = hat[k, j]
    c1h = min(c1, hs.shape[1])
    for k in range(x.shape[0]):
        # one row at a time, as 1-D views: LLVM's code for the 2-D indexing this replaced
        # made the float32 epoch a tenth slower (docs/design.md 7.1)
        a, h = ha[k, c0:c1h], hs[k, c0:c1h]
        b = b1[c0:c1h]
        for j in range(h.shape[0]):
            a[j] += b[j]
            h[j] = act(code, a[j])


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
            g_oaT[c, k] = exp_nonpositive(oaT[c, k] - top[k])  # NaN stays NaN
            total[k] += g_oaT[c, k]
    nll = 0.0
    for k in range(K):
        nll += math.log(total[k]) - (oaT[y[k], k] - top[k])  # -log os[k, y_k], as log-sum-exp
        total[k] = 1.0 / (total[k] * K)
    for c in range(m):
        for k in range(K):
            g_oaT[c, k] *= total[k]
    for k in range(K):
        g_oaT[y[k], k] -= 1.0 / K
    np.dot(g_oaT, hs, dW2)
    np.dot(g_oaT.T, W2, g_hs)  # before W2 changes
    for c in range(m):
        db2[c] = 0.0
        for k in range(K):
            db2[c] += g_oaT[c, k]
    return nll / K


@numba.njit(cache=True, inline="always")
def _hidden_backward_step(
    W1T, W1t, b1, code, lr, lam, x, ha, hs, g_hs, g_ha, g_hat, dW1t, db1, c0, c1, cached
):
    """Columns c0:c1: g_ha = g_hs * act'(ha), and the SGD step of b1 and of W1T, fused
    into the product: W1T = (1 - lr lam) W1T - lr x^T g_ha, and of W1t. db1 (dh,),
    g_hat (K, dh - dm) and dW1t (dh - dm, d) are scratch; every loop runs along rows, so
    it vectorizes. ``cached``: x is still in the cache (``blocking.cached_bytes``)."""
    K, dh = g_hs.shape
    c1h = min(c1, dh)
    db1[c0:c1h] = 0.0
    db = db1[c0:c1h]
    for k in range(K):  # rows as 1-D views, as in _hidden_forward
        a, h, gh, g = ha[k, c0:c1h], hs[k, c0:c1h], g_hs[k, c0:c1h], g_ha[k, c0:c1h]
        for j in range(g.shape[0]):
            g[j] = gh[j] * act_grad(code, a[j], h[j])
            db[j] += g[j]
    b1[c0:c1h] -= lr * db1[c0:c1h]
    dm, keep = W1T.shape[1], 1 - lr * lam
    if c0 < dm:
        cm = min(c1, dm)
        if cached:
            _gemm(x.T, g_ha[:, c0:cm], W1T[:, c0:cm], -lr, keep)
        else:  # each tile fetches the next one's columns of x
            _gemm_ahead(x.T, g_ha[:, c0:cm], W1T[:, c0:cm], -lr, keep)
    if holds_tail(W1T, W1t, c0, c1):
        for k in range(K):
            for j in range(g_hat.shape[1]):
                g_hat[k, j] = g_ha[k, dm + j]
        np.dot(g_hat.T, x, dW1t)
        for j in range(W1t.shape[0]):
            for i in range(W1t.shape[1]):
                W1t[j, i] = keep * W1t[j, i] - lr * dW1t[j, i]


@numba.njit(cache=True, inline="always")
def _output_step(W2, b2, lr, lam, dW2, db2):
    for c in range(W2.shape[0]):
        b2[c] -= lr * db2[c]
        for j in range(W2.shape[1]):
            W2[c, j] -= lr * (dW2[c, j] + lam * W2[c, j])


def _epoch(W1, b1, W2, b2, code, X, y, batch_size, lr, lam, cached, most, T):
    """SGD over X in order; returns (sum of K * loss, index of a non-finite minibatch or
    -1, its loss). The hidden units are split into T blocks of whole vectors, one per
    thread where compiled with parallel=True (prange is range elsewhere). W1 is updated
    at the end only (the caller restores all on divergence)."""
    m, buf = W2.shape[0], buffers(W1, W2, batch_size, cached, most)
    W1T, W1t, dW2, db2, db1 = buf.W1T, buf.W1t, buf.dW2, buf.db2, buf.db1
    dhp, width = buf.ha.shape[1], lanes_of(W1T)
    block = -(-dhp // (T * width)) * width
    total = 0.0
    for index, start in enumerate(range(0, X.shape[0], batch_size)):
        x, t = X[start : start + batch_size], y[start : start + batch_size]
        K = x.shape[0]
        # this minibatch's rows of the buffers; oaT, g_oaT (m, K) contiguous
        ha, g_ha, hs, g_hs = buf.ha[:K], buf.g_ha[:K], buf.hs[:K], buf.g_hs[:K]
        hat, g_hat = buf.hat[:K], buf.g_hat[:K]
        oaT, g_oaT = buf.oaT[: m * K].reshape(m, K), buf.g_oaT[: m * K].reshape(m, K)
        decay = l2(W1T, W2, lam, W1t)
        for i in numba.prange(T):
            _hidden_forward(
                W1T, W1t, b1, code, x, ha, hat, hs, min(i * block, dhp), min(i * block + block, dhp)
            )
        loss = (
            _output(W2, b2, t, hs, oaT, g_oaT, g_hs, dW2, db2, buf.top[:K], buf.total[:K]) + decay
        )
        if not math.isfinite(loss):
            return total, index, loss
        for i in numba.prange(T):
            _hidden_backward_step(
                W1T,
                W1t,
                b1,
                code,
                lr,
                lam,
                x,
                ha,
                hs,
                g_hs,
                g_ha,
                g_hat,
                buf.dW1t,
                db1,
                min(i * block, dhp),
                min(i * block + block, dhp),
                cached,
            )
        _output_step(W2, b2, lr, lam, dW2, db2)
        total += loss * K
    for j in range(W1.shape[0] - W1t.shape[0]):
        W1[j] = W1T[:, j]
    W1[W1.shape[0] - W1t.shape[0] :] = W1t
    return total, -1, 0.0


def _named(fn, name: str):
    """``fn``'s code under another name: numba's cache keys on a function's name, not on
    how it was compiled, and the serial epoch must neither load the parallel code nor
    start the thread pool."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    twin.__qualname__, twin.__doc__ = name, fn.__doc__
    return twin


# contract: multiply-adds may fuse into FMAs (the exponential's polynomial, the updates)
_epoch_serial = numba.njit(cache=True, fastmath={"contract"})(_named(_epoch, "_epoch_serial"))
_epoch_parallel = numba.njit(cache=True, parallel=True, fastmath={"contract"})(
    _named(_epoch, "_epoch_parallel")
)


def _arguments(p: Params, X, y, batch_size, lr, lam) -> tuple:
    code = ACTIVATIONS.index(p.activation)
    cached = min(batch_size, len(X)) * X[:1].nbytes <= blocking.cached_bytes(p.dtype.name)
    most = blocking.tail_most(p.dtype.name, microkernel.lanes(p.dtype))
    # lr and lam in the parameters' dtype: float32 updates then stay float32 (16 lanes)
    lr, lam = p.dtype.type(lr), p.dtype.type(lam)
    return p.W1, p.b1, p.W2, p.b2, code, X, y, batch_size, lr, lam, cached, most


def run(p: Params, X: np.ndarray, y: np.ndarray, batch_size: int, lr: float, lam: float):
    """The whole epoch in compiled code (no Python call per minibatch), the hidden units
    split over numba's threads when it has more than one; see _epoch."""
    args = _arguments(p, X, y, batch_size, lr, lam)
    n = threads()
    if n == 1:
        return _epoch_serial(*args, 1)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # numba's threads each call BLAS: no nesting
        return _epoch_parallel(*args, n)


def run_serial(p: Params, X: np.ndarray, y: np.ndarray, batch_size: int, lr: float, lam: float):
    """The whole epoch compiled, on the calling thread whatever numba's thread count (its
    products on BLAS's threads): where fork/join costs more than the split saves."""
    return _epoch_serial(*_arguments(p, X, y, batch_size, lr, lam), 1)


epoch, epoch_serial = epoch_kernel(run), epoch_kernel(run_serial)
