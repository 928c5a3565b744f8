"""One epoch of each kernel on real Fashion-MNIST (DESIGN §6), shared by the
benchmarks, the report, autotune and the agreement demo.

An epoch is 600 calls on consecutive minibatches of K = 100 of the 60,000
training examples: image blocks (K, 28, 28) for gradient_norm, logit blocks
(K, 10) of a seeded linear layer for softmax, and for the MLP fprop, bprop (on
precomputed forward passes) or the SGD epoch itself. Inputs are built once,
outside any timed region; ``run`` is what gets timed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import mlp
from .data import SIZES, load_fashion_mnist

# Minibatches that a plain-Python (``slow``) backend runs before extrapolating.
SLICE = {"gradient_norm": 20, "softmax": 600, "mlp_fprop": 2, "mlp_bprop": 2, "mlp_epoch": 1}
LR = 0.1


@dataclass
class Workload:
    """The inputs of one kernel's epoch: ``run(fn, batches)`` calls ``fn`` on the first
    ``batches`` minibatches (all of them by default)."""

    kernel: str
    K: int = 100
    dtype: str = "float64"
    dh: int = 50
    n: int | None = None          # examples used; None: the whole training set
    inputs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        X, y = load_fashion_mnist("train", dtype=self.dtype)
        X, y = X[:self.n], y[:self.n]
        self.n = len(X)
        if self.kernel == "gradient_norm":
            self.inputs["blocks"] = _blocks(X.reshape(-1, 28, 28), self.K)
        elif self.kernel == "softmax":
            W = np.random.default_rng(0).uniform(-1, 1, (10, 784)) / math.sqrt(784)
            self.inputs["blocks"] = _blocks(X @ W.T.astype(self.dtype) * 20, self.K)
        else:
            self.inputs.update(X=X, y=y, p0=mlp.init_params(dh=self.dh, dtype=self.dtype, seed=0))
            self.inputs["batches"] = list(zip(_blocks(X, self.K), _blocks(y, self.K)))
            if self.kernel == "mlp_bprop":
                p0, fprop = self.inputs["p0"], self._numpy("mlp_fprop")
                self.inputs["forwards"] = [fprop(p0, x, t) for x, t in self.inputs["batches"]]

    @staticmethod
    def _numpy(kernel):
        from .registry import get
        return get(kernel, "numpy")

    @staticmethod
    def full_batches(K: int) -> int:
        """Minibatches in a whole epoch of the 60,000 training examples."""
        return -(-SIZES["train"] // K)

    @property
    def batches(self) -> int:
        """Minibatches in a full epoch (the last may be shorter)."""
        return -(-self.n // self.K)

    def run(self, fn: Callable, batches: int | None = None):
        """Call ``fn`` on the first ``batches`` minibatches of the epoch; returns its last result."""
        b = self.batches if batches is None else min(batches, self.batches)
        if self.kernel in ("gradient_norm", "softmax"):
            for block in self.inputs["blocks"][:b]:
                out = fn(block)
            return out
        p = self.inputs["p0"].copy()   # every run starts from the same parameters
        if self.kernel == "mlp_epoch":
            stop = b * self.K
            return fn(p, self.inputs["X"][:stop], self.inputs["y"][:stop], self.K, LR), p
        pairs = self.inputs["batches"][:b]
        if self.kernel == "mlp_fprop":
            for x, t in pairs:
                out = fn(p, x, t)
            return out
        for (x, t), fwd in zip(pairs, self.inputs["forwards"]):
            out = fn(p, x, t, fwd)
        return out

    def warm_up(self, fn: Callable) -> None:
        """Compile (numba) for the epoch's dtype and layouts: one minibatch, untimed."""
        self.run(fn, 1)

def _blocks(a: np.ndarray, K: int) -> list[np.ndarray]:
    return [a[i:i + K] for i in range(0, len(a), K)]


def outcome(result) -> list[np.ndarray]:
    """The arrays (and loss) a kernel's result holds, in a fixed order, for comparisons."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, mlp.Forward):
        return [result.ha, result.hs, result.oa, result.os, np.float64(result.loss)]
    if isinstance(result, mlp.Gradients):
        return list(result.arrays().values())
    loss, p = result                                   # mlp_epoch: (mean loss, parameters)
    return [np.float64(loss), *p.arrays().values()]
