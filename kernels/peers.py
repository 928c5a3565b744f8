"""What users would otherwise pick, with the signature of our kernels, for the report
and the benchmarks to time beside our backends. Never part of the registry."""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np


def scipy_softmax() -> Callable:
    import scipy.special
    return lambda z: scipy.special.softmax(z, axis=-1)


def torch_mlp_epoch() -> Callable:
    """An SGD epoch as a PyTorch user writes it: nn.Sequential, CrossEntropyLoss, optim.SGD,
    starting from our parameters and writing the trained ones back into them."""
    import torch

    def epoch(p, X, y, batch_size: int = 100, lr: float = 0.1, lam: float = 0.0) -> float:
        d, dh, m = p.shape
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus}
        dtype = getattr(torch, str(p.dtype))
        model = torch.nn.Sequential(torch.nn.Linear(d, dh, dtype=dtype), act[p.activation](),
                                    torch.nn.Linear(dh, m, dtype=dtype))
        weights = (model[0].weight, model[0].bias, model[2].weight, model[2].bias)
        with torch.no_grad():
            for w, a in zip(weights, p.arrays().values()):
                w.copy_(torch.from_numpy(a))
        # weight decay on W1, W2 only, as DESIGN §2.3 says
        opt = torch.optim.SGD([{"params": [weights[0], weights[2]], "weight_decay": lam},
                               {"params": [weights[1], weights[3]]}], lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        with warnings.catch_warnings():   # X may be read-only (the data cache); torch only reads it
            warnings.simplefilter("ignore", UserWarning)
            Xt, yt = torch.from_numpy(np.asarray(X)), torch.from_numpy(np.asarray(y))
        total = 0.0
        for start in range(0, len(Xt), batch_size):
            x, t = Xt[start:start + batch_size], yt[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x), t)
            loss.backward()
            opt.step()
            total += loss.item() * len(t)
        with torch.no_grad():
            for w, a in zip(weights, p.arrays().values()):
                a[...] = w.numpy()
        return total / len(Xt)

    return epoch


# kernel -> peer name -> factory (raises ImportError when the library is missing)
PEERS: dict[str, dict[str, Callable[[], Callable]]] = {
    "softmax": {"scipy": scipy_softmax},
    "mlp_epoch": {"torch": torch_mlp_epoch},
}


def available_peers(kernel: str) -> dict[str, Callable]:
    """The peers of ``kernel`` that import here, as callables."""
    found = {}
    for name, factory in PEERS.get(kernel, {}).items():
        try:
            found[name] = factory()
        except ImportError:
            continue
    return found


def set_threads(n: int) -> None:
    """Give PyTorch's own thread pool the same thread count as ours."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)
