"""numba.cuda for the ``numba-cuda`` backends: whether a device runs them here, and the
public array functions around their device kernels.

Imported only by those backends. Without a CUDA GPU they are unavailable and say why;
numba's simulator (``NUMBA_ENABLE_CUDASIM=1``, which the test-suite sets) runs the same
kernels on the CPU, one Python thread per device thread: right, and far too slow to time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numba import cuda

from .arrays import check_foreign, on_device
from .errors import BackendUnavailable
from .host import array_kernel

if not cuda.is_available():
    raise BackendUnavailable(
        "no CUDA GPU here (numba.cuda.is_available() is False); numba's simulator runs "
        "these kernels on the CPU with NUMBA_ENABLE_CUDASIM=1"
    )

THREADS = 128  # per block: a multiple of the 32-thread warp


def blocks(n: int) -> int:
    """Blocks of ``THREADS`` covering ``n`` device threads (at least one)."""
    return max(1, -(-n // THREADS))


def device_array(x):
    """``x``, on the GPU, as a numba device array without a copy."""
    return x if hasattr(x, "copy_to_host") else cuda.as_cuda_array(x)


def device_kernel(name: str, prepare: Callable, doc: str) -> Callable:
    """Decorator turning ``raw(a, out)``, which launches device kernels on numba device
    arrays ``a`` and ``out`` of one shape and dtype, into the public ``name(x, out=None)``.

    Given arrays on the GPU (numba device arrays, CuPy or anything with
    ``__cuda_array_interface__``), it computes there and returns a numba device array
    without waiting for the device (synchronise before reading the clock); ``out=``,
    if given, must be a C-contiguous device array of the result's shape and dtype. Given
    NumPy arrays, it copies them to the device and the result back, with the checks
    and the ``out=`` of the CPU backends (``array_kernel``).
    """
    host = array_kernel(name, prepare, doc)

    def decorate(raw: Callable) -> Callable:
        def through_device(a: np.ndarray, out: np.ndarray) -> None:
            result = cuda.device_array(a.shape, a.dtype)
            raw(cuda.to_device(a), result)
            result.copy_to_host(out)

        on_host = host(through_device)

        @functools.wraps(on_host)
        def kernel(x, out=None):
            if not on_device(x):
                return on_host(x, out)
            a = device_array(x)
            single = check_foreign(name, prepare, a)
            if not a.is_c_contiguous():
                raise ValueError(f"{name}: arrays on the GPU must be C-contiguous")
            shape = a.shape
            if out is None:
                out = cuda.device_array(shape, a.dtype)
            elif (
                not on_device(out)
                or device_array(out).dtype != a.dtype
                or device_array(out).shape != shape
            ):
                raise TypeError(
                    f"{name}: with input on the GPU, out must be a device array of "
                    f"shape {shape} and dtype {a.dtype}"
                )
            target = device_array(out)
            if single:
                a, target = a.reshape((1, *shape)), target.reshape((1, *shape))
            raw(a, target)
            return out

        return kernel

    return decorate
