"""Choosing the backend that users get by default."""
from __future__ import annotations

from typing import Callable

from .registry import available

# Compiled first, then array code, then loops.
PREFERENCE = ("numba", "numpy", "example-loop", "python")


def fastest(kernel: str) -> Callable:
    """The callable of the first available backend of ``kernel`` in PREFERENCE order."""
    from .registry import get
    names = available(kernel)
    best = min(names, key=lambda n: PREFERENCE.index(n) if n in PREFERENCE else len(PREFERENCE))
    return get(kernel, best)
