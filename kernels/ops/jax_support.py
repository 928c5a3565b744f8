"""What the jax backends share. Imported only by the ``xla.py`` modules, so
``import kernels`` never imports jax.

float64: every call runs inside ``jax.enable_x64(True)``, a context that leaves the
user's global JAX setting as it was. Compilation cache: XLA compiles again in every
new process unless JAX's persistent cache is configured; when the user has not set
``jax_compilation_cache_dir``, it is pointed at the user cache directory of
``kernels`` (that is the one global JAX setting this package changes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from .arrays import either_kernel
from .host import array_kernel

x64 = jax.enable_x64


def is_jax(x) -> bool:
    """jax arrays (on whatever device jax placed them)"""
    return isinstance(x, jax.Array)


def jax_kernel(name: str, prepare: Callable, doc: str) -> Callable:
    """Decorator turning a compiled ``fn(a, ...) -> jax array`` into the public
    ``name(x, ..., out=None)``: NumPy in, NumPy out (``out=`` as the CPU backends); jax
    arrays in, computed on their device and returned there, without waiting for it."""
    host = array_kernel(name, prepare, doc)

    def decorate(fn: Callable) -> Callable:
        def through_numpy(*a_out: np.ndarray) -> None:
            *a, out = a_out
            with x64(True):
                out[...] = fn(*a)

        def on_device(*a):
            with x64(True):
                return fn(*a)

        through_numpy.__doc__ = fn.__doc__
        return either_kernel(name, prepare, host(through_numpy), is_jax, on_device)

    return decorate


def _configure_cache() -> None:
    if jax.config.jax_compilation_cache_dir:
        return  # the user's choice stands
    import platformdirs

    cache = Path(platformdirs.user_cache_dir("kernels")) / "jax"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # no cache: JAX compiles in each process
    jax.config.update("jax_compilation_cache_dir", str(cache))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


_configure_cache()
