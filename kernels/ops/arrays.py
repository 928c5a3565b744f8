"""Arrays that are not NumPy's: on a GPU (numba device arrays, CuPy, anything with
``__cuda_array_interface__``) or of another array-API library (PyTorch, jax,
array-api-strict). The checks of the CPU backends run on a stand-in of the same shape
and dtype, so every backend refuses bad input with the same words."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np

# the backends that compute on other libraries' arrays, named where another refuses them
TAKERS = (
    "array-api (any array-API library: PyTorch, CuPy, jax, array-api-strict), jax "
    "(jax arrays) or numba-cuda (arrays on a GPU)"
)


def refuse(name: str, x) -> TypeError:
    """The error of a backend that computes on NumPy arrays only, given ``x``."""
    return TypeError(
        f"{name}: this backend computes on NumPy arrays; got a {type(x).__name__}: "
        f"convert it (numpy.asarray), or use a backend that computes where it "
        f"lives: {TAKERS}"
    )


def library(x) -> str:
    """The library an array comes from (``torch``, ``jax``, ``numpy``...)."""
    return type(x).__module__.split(".")[0]


def in_its_precision(x):
    """A context in which ``x``'s library computes in ``x``'s dtype: jax's x64 mode for a
    float64 jax array (its x64 mode may have been on only while the array was made),
    else nothing."""
    if library(x) in ("jax", "jaxlib") and dtype_of(x) == np.float64:
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def in_precision_of(first: Callable) -> Callable:
    """``fn(p, x, ...)`` run in ``in_its_precision(x)``."""

    @functools.wraps(first)
    def wrapped(p, x, *args, **kwargs):
        with in_its_precision(x):
            return first(p, x, *args, **kwargs)

    return wrapped


def on_device(x) -> bool:
    """Whether ``x`` lives on a CUDA GPU: it exposes ``__cuda_array_interface__`` (CuPy,
    PyTorch on CUDA, numba) or is a numba device array (also numba's simulated ones)."""
    return hasattr(x, "__cuda_array_interface__") or hasattr(x, "copy_to_host")


def foreign(x) -> bool:
    """Whether ``x`` is an array of another library than NumPy (on a GPU or not)."""
    return not isinstance(x, (np.ndarray, np.generic)) and (
        on_device(x) or hasattr(x, "__array_namespace__") or hasattr(x, "__dlpack__")
    )


def dtype_of(x) -> np.dtype:
    """NumPy's name for a foreign array's dtype (``torch.float32`` -> float32)."""
    name = getattr(x.dtype, "name", None) or str(x.dtype).rsplit(".", 1)[-1]
    try:
        return np.dtype(name)
    except TypeError:
        raise TypeError(f"cannot read the dtype {x.dtype} of a {type(x).__name__}") from None


def stand_in(shape, dtype) -> np.ndarray:
    """A read-only NumPy array of ``shape`` and ``dtype`` that takes no memory."""
    return np.broadcast_to(np.zeros((), dtype), tuple(shape))


def to_host(x) -> np.ndarray:
    """A NumPy copy of a foreign array (waits for its device)."""
    if isinstance(x, (np.ndarray, np.generic, float, int)):
        return np.asarray(x)
    if hasattr(x, "copy_to_host"):  # numba device array
        return x.copy_to_host()
    if hasattr(x, "get") and on_device(x):  # CuPy
        return x.get()
    if hasattr(x, "cpu") and hasattr(x, "numpy"):  # PyTorch, wherever it lives
        return x.detach().cpu().numpy()
    return np.from_dlpack(x)  # jax, array-api-strict, ...


def check_foreign(name: str, prepare: Callable, *xs) -> bool:
    """The CPU backends' checks (``prepare``) of foreign arrays, run on zero-byte
    stand-ins of their shapes and dtypes (float32 or float64 only: no conversion on
    another library's arrays); returns whether the first is a single item (no batch
    axis)."""
    dtypes = [dtype_of(x) for x in xs]
    for x, dtype in zip(xs, dtypes):
        if dtype not in (np.float32, np.float64):
            raise TypeError(
                f"{name}: a {type(x).__name__} input must be float32 or float64; "
                f"got dtype {dtype} (convert it where it lives first)"
            )
    return prepare(*(stand_in(x.shape, dtype) for x, dtype in zip(xs, dtypes)))[1]


def either_kernel(
    name: str, prepare: Callable, on_host: Callable, takes: Callable, compute: Callable
) -> Callable:
    """The public ``name(x, ..., out=None)`` of a backend that also computes on another
    library's arrays: NumPy in, ``on_host(x, ..., out=out)`` (an ``array_kernel``);
    arrays that ``takes`` accepts, the same checks on stand-ins of their shapes and
    dtypes, then ``compute(a, ...)`` on them (the first batch-major), returned in their
    library (``out=`` refused there)."""

    @functools.wraps(on_host)
    def kernel(*xs, out=None):
        x = xs[0] if xs else None
        if not foreign(x):
            return on_host(*xs, out=out)
        if not all(takes(v) for v in xs):
            raise TypeError(
                f"{name}: this backend computes on NumPy arrays or "
                f"{takes.__doc__}; got a {type(x).__name__}; backends that take "
                f"other libraries' arrays: {TAKERS}"
            )
        if out is not None:
            raise TypeError(
                f"{name}: out= takes NumPy arrays; with a {type(x).__name__} "
                f"input, use the returned array"
            )
        single = check_foreign(name, prepare, *xs)
        with in_its_precision(x):
            result = compute(x[None, ...] if single else x, *xs[1:])
            return result[0, ...] if single else result

    return kernel
