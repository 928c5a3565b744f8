"""The numba epoch's layout (jit_epoch.py, whose docstring says why): how many of the
hidden units the microkernel computes, and the buffers one minibatch works in, W1's
first dm rows kept transposed and padded to whole vectors, on cache lines."""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from .. import microkernel, numba_cache
from ..microkernel import lanes_of, zeros_lined

numba_cache.track(__file__, microkernel, key=microkernel.BLOCK)

# what one minibatch works in, allocated once per epoch for the largest one
Buffers = namedtuple(
    "Buffers", "W1T W1t ha g_ha hat g_hat dW1t hs g_hs oaT g_oaT top total dW2 db2 db1"
)


@numba.njit(cache=True)
def columns(dh, width, cached, most):
    """(dm, dhp): the hidden units the microkernel computes, dm, and dh rounded up to
    whole vectors of ``width``, dhp. dm = dh rounded down where the tail dh - dm is at
    most ``most`` columns (``blocking.tail_most``) and a minibatch's x stays in the cache
    (``cached``), so that the tail goes through BLAS; else dm = dhp (see jit_epoch's
    docstring). The epoch's rule, and the shape autotune times the blocks on."""
    dhp = -(-dh // width) * width
    if cached and dh % width <= most:
        return dh - dh % width, dhp
    return dhp, dhp


@numba.njit(cache=True, inline="always")
def buffers(W1, W2, batch_size, cached, most):
    """The Buffers of an epoch in minibatches of at most batch_size (dm and dhp from
    ``columns``): W1T (d, dm) holding W1[:dm]^T (zeros past dh), W1t (dh - dm, d) a
    copy of W1[dm:]; ha, g_ha (batch_size, dhp), g_ha zero past dh; hat, g_hat
    (batch_size, dh - dm), dW1t (dh - dm, d); hs, g_hs (batch_size, dh); oaT, g_oaT
    (m * batch_size,) flat, top, total (batch_size,); dW2 (m, dh), db2 (m,), db1 (dh,).
    A count dh - dm below 0 counts as 0. ``cached``, ``most``: as ``columns`` takes
    them."""
    (dh, d), m, dt = W1.shape, W2.shape[0], W1.dtype
    dm, dhp = columns(dh, lanes_of(W1), cached, most)
    tail = max(dh - dm, 0)
    W1T = zeros_lined(d, dm, W1)  # the products' B and C: whole vectors on cache lines
    for j in range(min(dm, dh)):
        W1T[:, j] = W1[j]
    return Buffers(
        W1T=W1T,
        W1t=W1[dh - tail :].copy(),
        ha=zeros_lined(batch_size, dhp, W1),
        g_ha=zeros_lined(batch_size, dhp, W1),
        hat=np.empty((batch_size, tail), dt),
        g_hat=np.empty((batch_size, tail), dt),
        dW1t=np.empty((tail, d), dt),
        hs=np.empty((batch_size, dh), dt),
        g_hs=np.empty((batch_size, dh), dt),
        oaT=np.empty(m * batch_size, dt),
        g_oaT=np.empty(m * batch_size, dt),
        top=np.empty(batch_size, dt),
        total=np.empty(batch_size, dt),
        dW2=np.empty((m, dh), dt),
        db2=np.empty(m, dt),
        db1=np.empty(dh, dt),
    )


@numba.njit(cache=True, inline="always")
def holds_tail(W1T, W1t, c0, c1):
    """Whether the block of columns c0:c1 computes W1t's columns (those from dm on)."""
    return c0 <= W1T.shape[1] < c1 and W1t.shape[0] > 0
