"""kernels: the same ML kernels as Python loops, NumPy array code and Numba JIT code.

Public API (DESIGN §3)::

    kernels.KERNELS, kernels.backends(k), kernels.available(k), kernels.get(k, b),
    kernels.fastest(k), kernels.gradient_norm(images), kernels.softmax(z), ...

Importing this package imports NumPy only; backends load on first use.
"""
from __future__ import annotations

from .registry import KERNELS, BackendUnavailable, available, backends, get
from .select import fastest, use

__version__ = "0.1.0"
__all__ = ["KERNELS", "BackendUnavailable", "autotune", "available", "backends", "get", "fastest", "use",
           *KERNELS]


def autotune(**kwargs):
    """Time the backends here and record the winners; see kernels.tuning.run."""
    from .tuning import run
    return run(**kwargs)


def __getattr__(name: str):
    # kernels.softmax(z) etc.: the chosen backend's own callable (PEP 562); the choice
    # is made at first use and cached, and kernels.use() / KERNELS_BACKEND still apply.
    if name in KERNELS:
        return fastest(name)
    raise AttributeError(f"module 'kernels' has no attribute {name!r}")
