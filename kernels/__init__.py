"""kernels: the same ML kernels as Python loops, NumPy array code and Numba JIT code.

Public API (DESIGN §3)::

    kernels.KERNELS, kernels.backends(k), kernels.available(k), kernels.get(k, b),
    kernels.fastest(k), kernels.gradient_norm(images), kernels.softmax(z), ...

Importing this package imports NumPy only; backends load on first use.
"""
from __future__ import annotations

from .registry import KERNELS, BackendUnavailable, available, backends, get
from .select import fastest

__version__ = "0.1.0"
__all__ = ["KERNELS", "BackendUnavailable", "available", "backends", "get", "fastest",
           *KERNELS]


def __getattr__(name: str):
    # kernels.softmax(z) etc.: the fastest backend, chosen at first use (PEP 562).
    if name in KERNELS:
        return fastest(name)
    raise AttributeError(f"module 'kernels' has no attribute {name!r}")
