"""kernels: the same ML kernels as Python loops, NumPy array code, Numba JIT code and
JAX-compiled array code, proven equal and timed per epoch on Fashion-MNIST.

Public API (docs/design.md, section 3)::

    kernels.KERNELS, kernels.backends(k), kernels.available(k), kernels.get(k, b),
    kernels.fastest(k), kernels.use(...), kernels.gradient_norm(images, out=None),
    kernels.softmax(z, out=None), kernels.mlp_epoch(p, X, y, ...), kernels.mlp (params),
    kernels.tolerance(k, dtype) (within which backends agree)

Layout: this package is the library (registry, selection, data, ``ops/`` with one
folder per kernel); ``kernels.bench`` is the measuring harness and ``kernels.app`` the
training tool, both built on the library and never imported by it. Importing this
package imports NumPy only; backends load on first use.
"""

from __future__ import annotations

from . import shipped as _shipped  # noqa: F401  (registers the shipped backends)
from .ops import blocking as _blocking
from .ops import mlp
from .ops import store_kind as _store_kind
from .ops import tolerance as _tolerance
from .ops.errors import BackendUnavailable
from .record import recorded_blocks as _recorded_blocks
from .record import recorded_cached as _recorded_cached
from .record import recorded_stores as _recorded_stores
from .record import recorded_tails as _recorded_tails
from .registry import available, backends, get, kernel_names
from .select import fastest, use

# the numba microkernel compiles with the register blocks autotune measured here (read
# from the record when the microkernel is first imported; the kernels never import it)
_blocking.measured = _recorded_blocks
_store_kind.measured = _recorded_stores  # and write streams with the stores measured faster
_blocking.measured_tails = _recorded_tails  # and send the column tails measured to BLAS
_blocking.measured_cached = _recorded_cached  # and count x as cached as measured

__version__ = "0.2.0"
__all__ = [
    "KERNELS",
    "BackendUnavailable",
    "available",
    "backends",
    "get",
    "fastest",
    "use",
    "mlp",
    "tolerance",
    *kernel_names(),
]


def tolerance(kernel: str, dtype) -> dict[str, float]:
    """``rtol``, ``atol`` within which two backends of ``kernel`` agree in ``dtype``
    (docs/design.md, section 5); an unknown kernel raises KeyError listing the valid ones."""
    backends(kernel)
    return _tolerance(kernel, dtype)


def __getattr__(name: str):
    # kernels.softmax(z) etc.: the chosen backend's own callable (PEP 562); the choice
    # is made at each attribute access (cached), so kernels.use() / KERNELS_BACKEND apply.
    if name == "KERNELS":  # the registered kernels, read at each use
        return kernel_names()
    if name in kernel_names():
        return fastest(name)
    raise AttributeError(f"module 'kernels' has no attribute {name!r}")
