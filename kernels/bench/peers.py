"""What users would otherwise pick, with the signature of our kernels, for the report
and the benchmarks to time beside our backends. Never part of the registry."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np


def scipy_softmax() -> Callable:
    import scipy.special

    return lambda z: scipy.special.softmax(z, axis=-1)


def torch_mlp_epoch(compiled: bool = False, device: str = "cpu") -> Callable:
    """An SGD epoch as a PyTorch user writes it: nn.Sequential, CrossEntropyLoss, autograd
    and a plain SGD update (L2 on the weights only, as section 2.3 says), starting from
    our parameters and writing the trained ones back into them. With ``compiled``, the
    training step (forward, backward, update) goes through torch.compile; it compiles on
    the first call per shape, which the harness's warm-up absorbs. ``device``: where the
    model lives ("cuda" on a GPU); X and y may be tensors already there. The losses are
    summed where they are computed and read once, at the end of the epoch."""
    import torch

    steps = {}  # one model and one (compiled) step per shape, dtype and activation

    def make_step(d, dh, m, activation, dtype):
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus}
        model = torch.nn.Sequential(
            torch.nn.Linear(d, dh, dtype=dtype),
            act[activation](),
            torch.nn.Linear(dh, m, dtype=dtype),
        ).to(device)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step(x, t, lr, lam):
            loss = loss_fn(model(x), t)
            W1, b1, W2, b2 = model.parameters()
            loss_l2 = loss + lam / 2 * ((W1 * W1).sum() + (W2 * W2).sum())
            grads = torch.autograd.grad(loss_l2, (W1, b1, W2, b2))
            with torch.no_grad():
                for w, g in zip((W1, b1, W2, b2), grads):
                    w -= lr * g
            return loss.detach()

        return model, (torch.compile(step) if compiled else step)

    def tensor(a):
        if isinstance(a, torch.Tensor):
            return a
        with warnings.catch_warnings():  # X may be read-only (the data cache); torch only reads it
            warnings.simplefilter("ignore", UserWarning)
            return torch.as_tensor(np.asarray(a), device=device)

    def epoch(p, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
        d, dh, m = p.shape
        dtype = getattr(torch, str(p.dtype))
        key = (d, dh, m, p.activation, dtype)
        model, step = steps.get(key) or steps.setdefault(key, make_step(*key))
        with torch.no_grad():
            for w, a in zip(model.parameters(), p.arrays().values()):
                w.copy_(torch.from_numpy(a))
        Xt, yt = tensor(X), tensor(y)
        total = 0.0
        for start in range(0, len(Xt), batch_size):
            x, t = Xt[start : start + batch_size], yt[start : start + batch_size]
            total = total + step(x, t, lr, lam) * len(t)
        with torch.no_grad():
            for w, a in zip(model.parameters(), p.arrays().values()):
                a[...] = w.cpu().numpy()
        return float(total) / len(Xt)

    return epoch


def sklearn_mlp_epoch() -> Callable:
    """One epoch of scikit-learn's MLPClassifier.partial_fit with the same architecture:
    plain SGD (no momentum), constant lr, in order, our initial weights, L2 alpha = lam * K
    (scikit-learn divides its alpha by the minibatch size)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def epoch(p, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
        d, dh, m = p.shape
        if p.activation == "softplus":
            raise ValueError("scikit-learn's MLPClassifier has no softplus activation")
        clf = MLPClassifier(
            (dh,),
            activation=p.activation,
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=lr,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=lam * batch_size,
            batch_size=batch_size,
            shuffle=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)  # "batch_size ... clipped" on 1 example
            clf.partial_fit(X[:1], y[:1], classes=np.arange(m))  # allocates the layers
            # momentum 0: the optimizer's velocity is -lr * grad of each step, no memory
            clf.coefs_ = [p.W1.T.copy(), p.W2.T.copy()]
            clf.intercepts_ = [p.b1.copy(), p.b2.copy()]
            clf.partial_fit(X, y)
        p.W1[...], p.W2[...] = clf.coefs_[0].T, clf.coefs_[1].T
        p.b1[...], p.b2[...] = clf.intercepts_
        return float(clf.loss_)

    return epoch


def torch_compiled_mlp_epoch() -> Callable:
    """The PyTorch epoch under ``torch.compile``."""
    return torch_mlp_epoch(compiled=True)


def torch_softmax() -> Callable:
    """``torch.softmax`` over the last axis, on tensors wherever they are."""
    import torch

    return lambda z: torch.softmax(z, dim=-1)


def set_threads(n: int) -> None:
    """Give PyTorch's own thread pool the same thread count as ours."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)
