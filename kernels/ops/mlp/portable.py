"""MLP, ``array-api`` backend: the matrix calculus of the numpy backend written once
against the Python array API standard (through array-api-compat), so the same source
runs on NumPy, on CuPy on a GPU, on PyTorch or on array-api-strict.

The parameters (a ``Params`` of NumPy arrays) are moved to where ``x`` lives once per
call and, for an epoch, written back at its end; results come back in ``x``'s library.
The epoch's losses stay on the device until the end (no wait per minibatch).
"""

from __future__ import annotations

from array_api_compat import array_namespace, device

from ..arrays import foreign, in_precision_of, to_host
from .family import bprop_kernel, epoch_kernel, fprop_kernel
from .types import Forward, Gradients, Params


def _act(xp, name, ha):
    if name == "relu":
        # NaN stays NaN (as np.maximum), so a poisoned input shows in the loss
        return xp.where((ha > 0) | xp.isnan(ha), ha, xp.zeros_like(ha))
    if name == "tanh":
        return xp.tanh(ha)
    return xp.logaddexp(xp.zeros_like(ha), ha)  # softplus without overflow


def _act_grad(xp, name, ha, hs):
    if name == "relu":
        return xp.astype(ha > 0, ha.dtype)  # relu'(0) = 0
    if name == "tanh":
        return 1 - hs * hs
    return 1 / (1 + xp.exp(-ha))  # softplus' = logistic sigmoid


def _on(xp, p: Params, like) -> list:
    """The parameters as arrays of ``xp`` on ``like``'s device."""
    return [xp.asarray(a, device=device(like)) for a in p.arrays().values()]


def _onehot(xp, y, m, dtype):
    return xp.astype(y[:, None] == xp.arange(m, device=device(y))[None, :], dtype)


def _forward(xp, W1, b1, W2, b2, activation, x, y):
    """ha, hs, oa, os and the mean negative log-likelihood (an array of ``xp``)."""
    ha = x @ W1.T + b1
    hs = _act(xp, activation, ha)
    oa = hs @ W2.T + b2
    shifted = oa - xp.max(oa, axis=1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=1, keepdims=True)
    # -log os[k, y_k] as log-sum-exp: finite even when os[k, y_k] underflows
    nll = xp.log(total[:, 0]) - xp.sum(shifted * _onehot(xp, y, oa.shape[1], oa.dtype), axis=1)
    return ha, hs, oa, e / total, xp.mean(nll)


def _backward(xp, W1, W2, activation, lam, x, y, ha, hs, os):
    g_oa = (os - _onehot(xp, y, os.shape[1], os.dtype)) / x.shape[0]
    g_ha = (g_oa @ W2) * _act_grad(xp, activation, ha, hs)
    return (
        g_ha.T @ x + lam * W1,
        xp.sum(g_ha, axis=0),
        g_oa.T @ hs + lam * W2,
        xp.sum(g_oa, axis=0),
    )


def _l2(p: Params, lam: float) -> float:
    return 0.5 * lam * float((p.W1 * p.W1).sum() + (p.W2 * p.W2).sum()) if lam else 0.0


def forward(p: Params, x, y, lam: float) -> Forward:
    xp = array_namespace(x)
    *arrays, nll = _forward(xp, *_on(xp, p, x), p.activation, x, y)
    return Forward(*arrays, float(nll) + _l2(p, lam))


def backward(p: Params, x, y, fwd: Forward, lam: float) -> Gradients:
    xp = array_namespace(x)
    W1, _, W2, _ = _on(xp, p, x)
    return Gradients(*_backward(xp, W1, W2, p.activation, lam, x, y, fwd.ha, fwd.hs, fwd.os))


def run(p: Params, X, y, batch_size: int, lr: float, lam: float):
    xp = array_namespace(X)
    params = _on(xp, p, X)
    losses, sizes = [], []
    N = X.shape[0]
    for start in range(0, N, batch_size):
        stop = min(start + batch_size, N)  # the standard leaves stops past N open
        x, t = X[start:stop, ...], y[start:stop]
        W1, b1, W2, b2 = params
        ha, hs, _, os, nll = _forward(xp, W1, b1, W2, b2, p.activation, x, t)
        if lam:
            nll = nll + 0.5 * lam * (xp.sum(W1 * W1) + xp.sum(W2 * W2))
        grads = _backward(xp, W1, W2, p.activation, lam, x, t, ha, hs, os)
        params = [w - lr * g for w, g in zip(params, grads)]
        losses.append(nll)
        sizes.append(x.shape[0])
    losses = to_host(xp.stack(losses))
    for param, trained in zip(p.arrays().values(), params):
        param[...] = to_host(trained)
    bad = [i for i, loss in enumerate(losses) if not abs(float(loss)) < float("inf")]
    total = float(sum(float(loss) * K for loss, K in zip(losses[: bad[0] if bad else None], sizes)))
    return (total, bad[0], float(losses[bad[0]])) if bad else (total, -1, 0.0)


fprop = fprop_kernel(in_precision_of(forward), takes=foreign)
bprop = bprop_kernel(in_precision_of(backward), takes=foreign)
epoch = epoch_kernel(in_precision_of(run), takes=foreign)
