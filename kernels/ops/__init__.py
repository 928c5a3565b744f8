"""The kernels: one folder per kernel, one module per backend inside it, each defining
the same function name; kernels/shipped.py registers each backend (which module is which
backend: ``kernels.registry.entry(kernel, name).target``).

A kernel's ``__init__.py`` holds its definition, its input checks and its decorator,
written once and applied to every backend (``@kernel``, ``@kernel.jax``,
``@kernel.portable``, ``@kernel.device``), so a backend module holds only its
computation. This module holds that decorator for the array kernels (``gradient_norm``,
``softmax``) and the tolerances within which backends agree.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .host import array_kernel


def tolerance(kernel: str, dtype) -> dict[str, float]:
    """``rtol``, ``atol`` within which two backends of ``kernel`` agree in ``dtype``
    (docs/design.md, section 5): results and one-step gradients in float64, the
    parameters after a whole SGD epoch (which compounds 600 updates), and float32."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=1e-4, atol=1e-6)
    if kernel == "mlp_epoch":
        return dict(rtol=1e-7, atol=1e-9)
    return dict(rtol=1e-10, atol=1e-12)


class ArrayKernel:
    """The decorators of one array kernel (``name(x, out=None)``), each turning a
    backend's computation into the public function with the kernel's checks
    (``prepare(x) -> (a, single)``) and documentation: ``@kernel`` for a CPU backend's
    ``raw(a, out)``, ``@kernel.jax``, ``@kernel.portable`` and ``@kernel.device`` for
    those that also compute on another library's arrays (jax_support.py,
    portable_support.py, cuda_support.py: imported only by such a backend).

    A kernel of several inputs (``name(x, w, out=None)``) has ``prepare(x, w) -> ((a,
    b), single)``, CPU backends ``raw(a, b, out)`` (host.array_kernel), jax and
    array-api ones ``fn(a, b)``; ``@kernel.device`` (numba.cuda) takes one input."""

    def __init__(self, name: str, prepare: Callable, doc: str):
        self.name, self.prepare, self.doc = name, prepare, doc

    def __call__(self, raw: Callable) -> Callable:
        return array_kernel(self.name, self.prepare, self.doc)(raw)

    def jax(self, fn: Callable) -> Callable:
        """``fn(a) -> jax array``, compiled by XLA (NumPy in, NumPy out; jax in, jax out)."""
        from .jax_support import jax_kernel

        return jax_kernel(self.name, self.prepare, self.doc)(fn)

    def portable(self, compute: Callable) -> Callable:
        """``compute(xp, a)`` against the array API (any library's arrays, returned in it)."""
        from .portable_support import portable_kernel

        return portable_kernel(self.name, self.prepare, self.doc)(compute)

    def device(self, raw: Callable) -> Callable:
        """``raw(a, out)`` launching numba.cuda kernels on device arrays."""
        from .cuda_support import device_kernel

        return device_kernel(self.name, self.prepare, self.doc)(raw)
