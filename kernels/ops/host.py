"""The CPU side of every array kernel, written once: the input's dtype checks
(``real_array``) and the public ``name(x, ..., out=None)`` around a backend's
``raw(a, ..., out)`` (``array_kernel``), with NumPy's ``out=`` convention."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from .arrays import foreign, refuse

# the dtypes the backends compute in, native byte order (a dtype is compared by identity
# first, so this test costs a tenth of comparing with np.float64 itself)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def real_array(x, kernel: str, what: str) -> np.ndarray:
    """``x`` as a float32 or float64 array (integers become float64, as numpy.gradient
    does); masked arrays, whose mask every backend would ignore, and any other dtype
    raise TypeError naming ``what`` the kernel expects."""
    if type(x) is np.ndarray and x.dtype in _FLOATS:  # the usual input: nothing to convert
        return x
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{kernel} does not take masked arrays (the mask would be ignored); "
            f"pass x.filled(value) or x.compressed() instead"
        )
    if foreign(x):  # never a silent copy of another library's array
        raise refuse(kernel, x)
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return a.astype(np.float64)
    if a.dtype.kind == "f" and not a.dtype.isnative:  # big-endian data, as NumPy takes it
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{kernel} expects real {what} of dtype float32, float64 or an integer "
            f"type; got dtype {a.dtype}"
        )
    return a


def array_kernel(name: str, prepare: Callable, doc: str) -> Callable:
    """Decorator turning a backend's ``raw(a, out)`` into the public ``name(x, out=None)``,
    or for a kernel of several inputs ``raw(a, b, ..., out)`` into ``name(x, w, ...,
    out=None)``.

    ``prepare(x, ...) -> (a, single)`` checks the inputs and returns them batch-major (a
    leading axis added to a single item when ``single``): one array, or a tuple of them
    whose first is the batch the output follows. ``raw`` fills ``out``, an array of
    (the first) ``a``'s shape and dtype, and returns nothing. ``out`` follows NumPy's
    ufunc convention: after the inputs or by keyword, a writeable ndarray (or a
    one-element tuple holding one) of the result's shape and dtype, in either byte order,
    filled and returned; it may overlap an input (which is then copied first, as ufuncs
    behave). Unlike a ufunc, no casting: an ``out``
    of another dtype is a TypeError (what NumPy raises for an unsafe cast), another
    shape a ValueError.
    """

    arity = len(inspect.signature(prepare).parameters)

    def decorate(raw: Callable) -> Callable:
        @functools.wraps(raw)
        def kernel(*xs, out=None):
            if len(xs) == arity + 1 and out is None:  # out after the inputs, as ufuncs
                *xs, out = xs
            if len(xs) != arity:
                raise TypeError(
                    f"{name} takes {arity} input array(s) and out=; got {len(xs)} arrays"
                )
            a, single = prepare(*xs)
            inputs = a if isinstance(a, tuple) else (a,)
            a = inputs[0]
            if out is None:
                result = np.empty(a.shape, a.dtype)
                raw(*inputs, result)
                return result[0] if single else result
            shape = a.shape[1:] if single else a.shape
            if isinstance(out, tuple):  # NumPy's out=(array,)
                if len(out) != 1:
                    raise ValueError(
                        f"{name}: out=(...) must hold exactly one array (the "
                        f"kernel has one output); got {len(out)}"
                    )
                out = out[0]
            if type(out) is not np.ndarray and (
                not isinstance(out, np.ndarray) or isinstance(out, np.ma.MaskedArray)
            ):
                raise TypeError(f"{name}: out must be a NumPy array; got {type(out).__name__}")
            if out.dtype != a.dtype and out.dtype.newbyteorder("=") != a.dtype:
                raise TypeError(
                    f"{name}: out must have dtype {a.dtype} (that of the result; "
                    f"no casting); got dtype {out.dtype}"
                )
            if out.shape != shape:
                raise ValueError(
                    f"{name}: out must have shape {shape} (that of the result); "
                    f"got shape {out.shape}"
                )
            if not out.flags.writeable:
                raise ValueError(f"{name}: out is read-only")
            overlap = [np.shares_memory(i, out) for i in inputs]
            if True in overlap:
                inputs = tuple(i.copy() if o else i for i, o in zip(inputs, overlap))
            target = out[None] if single else out
            # the compiled backends need a C-contiguous native output; a strided or
            # big-endian one is filled through a temporary, as NumPy does for such outputs
            direct = target.flags.c_contiguous and target.dtype.isnative
            buffer = target if direct else np.empty(a.shape, a.dtype)
            raw(*inputs, buffer)
            if buffer is not target:
                target[...] = buffer
            return out

        kernel.__name__ = kernel.__qualname__ = name
        kernel.__doc__ = f"{doc}\n\nThis backend: {raw.__doc__}"
        return kernel

    return decorate
