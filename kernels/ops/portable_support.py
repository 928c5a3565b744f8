"""The ``array-api`` backends: array code written once against the Python array API
standard (through array-api-compat), so the same source runs on NumPy, on CuPy on a
GPU, on PyTorch or on array-api-strict, wherever its input lives."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from array_api_compat import array_namespace

from .arrays import either_kernel
from .host import array_kernel


def portable_kernel(name: str, prepare: Callable, doc: str) -> Callable:
    """Decorator turning ``compute(xp, a, ...) -> result`` (``a`` batch-major, of namespace
    ``xp``) into the public ``name(x, ..., out=None)``. NumPy in: the CPU backends'
    checks and ``out=``. Another library's arrays in: the same checks (on stand-ins of
    their shapes and dtypes), computed in that library, on its device, returned in it."""
    host = array_kernel(name, prepare, doc)

    def decorate(compute: Callable) -> Callable:
        def through_numpy(*a_out: np.ndarray) -> None:
            *a, out = a_out
            out[...] = compute(array_namespace(*a), *a)

        through_numpy.__doc__ = compute.__doc__
        return either_kernel(
            name,
            prepare,
            host(through_numpy),
            standard,
            lambda *a: compute(array_namespace(*a), *a),
        )

    return decorate


def standard(x) -> bool:
    """the arrays of any library that array-api-compat knows (CuPy, PyTorch, ...)"""
    try:
        array_namespace(x)
    except TypeError:
        return False
    return True
