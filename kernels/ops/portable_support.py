"""The ``array-api`` backends: array code written once against the Python array API
standard (through array-api-compat), so the same source runs on NumPy, on CuPy on a
GPU, on PyTorch or on array-api-strict, wherever its input lives."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np
from array_api_compat import array_namespace

from . import array_kernel
from .arrays import dtype_of, foreign, stand_in


def portable_kernel(name: str, prepare: Callable, doc: str) -> Callable:
    """Decorator turning ``compute(xp, a) -> result`` (``a`` batch-major, of namespace
    ``xp``) into the public ``name(x, out=None)``. NumPy in: the CPU backends' checks
    and ``out=``. Another library's array in: the same checks (on a stand-in of its shape
    and dtype), computed in that library, on its device, returned in it; ``out=`` is
    NumPy's convention and is refused there."""
    host = array_kernel(name, prepare, doc)

    def decorate(compute: Callable) -> Callable:
        def through_numpy(a: np.ndarray, out: np.ndarray) -> None:
            out[...] = compute(array_namespace(a), a)

        on_host = host(through_numpy)

        @functools.wraps(on_host)
        def kernel(x, out=None):
            if not foreign(x):
                return on_host(x, out)
            if out is not None:
                raise TypeError(f"{name}: out= takes NumPy arrays; with a "
                                f"{type(x).__name__} input, use the returned array")
            dtype = dtype_of(x)
            if dtype not in (np.float32, np.float64):
                raise TypeError(f"{name}: a {type(x).__name__} input must be float32 or "
                                f"float64; got dtype {dtype}")
            _, single = prepare(stand_in(x.shape, dtype))        # the CPU checks, no copy
            xp = array_namespace(x)
            result = compute(xp, x[None, ...] if single else x)
            return result[0, ...] if single else result

        return kernel

    return decorate
