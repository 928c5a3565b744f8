"""The MLP's types: parameters, the results of fprop and bprop, divergence. A leaf
that the checks, the backends and the package import."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from ...data import N_CLASSES, N_FEATURES

ACTIVATIONS = ("relu", "tanh", "softplus")


@dataclass
class Params:
    """Weights of a ``d -> dh -> m`` MLP: W1 (dh, d), b1 (dh,), W2 (m, dh), b2 (m,).

    All four arrays share one dtype (float32 or float64) and are C-contiguous;
    training updates them in place.
    """

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    activation: str = "relu"

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Raise TypeError/ValueError unless the four arrays still form valid parameters."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}; got {self.activation!r}"
            )
        arrays = [self.W1, self.b1, self.W2, self.b2]
        if not all(isinstance(a, np.ndarray) for a in arrays):
            raise TypeError("W1, b1, W2 and b2 must be NumPy arrays")
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) != 1 or self.W1.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"W1, b1, W2, b2 must share one dtype, float32 or float64; got "
                f"{', '.join(str(a.dtype) for a in arrays)}"
            )
        dh, d = self.W1.shape if self.W1.ndim == 2 else (-1, -1)
        m = self.W2.shape[0] if self.W2.ndim == 2 else -1
        expected = [(dh, d), (dh,), (m, dh), (m,)]
        if min(dh, d, m) < 1 or [a.shape for a in arrays] != expected:
            raise ValueError(
                f"parameter shapes must be W1 (dh, d), b1 (dh,), W2 (m, dh), b2 (m,); "
                f"got {', '.join(str(a.shape) for a in arrays)}"
            )
        bad = [
            k for k, a in self.arrays().items() if not (a.flags.c_contiguous and a.flags.writeable)
        ]
        if bad:
            raise ValueError(
                f"parameter arrays must be C-contiguous and writeable (training "
                f"updates them in place); {', '.join(bad)} is not"
            )

    @property
    def dtype(self) -> np.dtype:
        return self.W1.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(d, dh, m)``."""
        return self.W1.shape[1], self.W1.shape[0], self.W2.shape[0]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def copy(self) -> Params:
        return Params(**self.snapshot(), activation=self.activation)

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of the four arrays (a few hundred kB at d = 784, dh = 50)."""
        return {k: v.copy() for k, v in self.arrays().items()}

    def restore(self, saved: dict[str, np.ndarray]) -> None:
        """Write a snapshot back into the arrays, in place."""
        for k, v in saved.items():
            getattr(self, k)[...] = v


@dataclass(frozen=True)
class Forward:
    """Forward pass of a minibatch of K: ha, hs (K, dh); oa, os (K, m); loss (float)."""

    ha: np.ndarray
    hs: np.ndarray
    oa: np.ndarray
    os: np.ndarray
    loss: float


@dataclass(frozen=True)
class Gradients:
    """Mean gradients of the loss: dW1 (dh, d), db1 (dh,), dW2 (m, dh), db2 (m,)."""

    dW1: np.ndarray
    db1: np.ndarray
    dW2: np.ndarray
    db2: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite during training."""


def init_params(
    d: int = N_FEATURES,
    dh: int = 50,
    m: int = N_CLASSES,
    seed: int = 0,
    dtype=np.float64,
    activation: str = "relu",
) -> Params:
    """Seeded initialisation: W1 ~ U(+-1/sqrt(d)), W2 ~ U(+-1/sqrt(dh)), biases 0."""
    for name, value in (("d", d), ("dh", dh), ("m", m)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    rng = np.random.default_rng(seed)
    W1 = rng.uniform(-1, 1, (dh, d)) / math.sqrt(d)
    W2 = rng.uniform(-1, 1, (m, dh)) / math.sqrt(dh)
    return Params(
        W1.astype(dtype), np.zeros(dh, dtype), W2.astype(dtype), np.zeros(m, dtype), activation
    )


def diverged(index: int, batch_size: int, n: int, loss: float, lr: float) -> DivergenceError:
    """The error for a non-finite loss at minibatch ``index`` of an epoch over ``n`` examples."""
    first, last = index * batch_size, min((index + 1) * batch_size, n) - 1
    return DivergenceError(
        f"the loss became {loss} at minibatch {index} (examples {first} to {last}); training "
        f"diverged: lower the learning rate (lr = {lr}) or check the inputs for NaN/inf. "
        f"The parameters are as they were before the epoch"
    )
