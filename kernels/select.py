"""Which backend users get: ``kernels.fastest(kernel, dtype=..., size=...)``.

First that applies:
1. an explicit choice: ``kernels.use(...)`` (a context manager) or the environment
   variable ``KERNELS_BACKEND`` (``numpy``, or per kernel ``softmax:numpy,mlp_epoch:numba``);
   an unknown or unavailable name is an error, never a silent fallback;
2. this machine's autotune record (``python -m kernels autotune``, ``kernels.record``)
   for the dtype, at the measured minibatch size nearest (in log scale) to the call's
   rows: the measured winner when its margin over the ranked backend exceeds the
   measured spread, else a tie and the ranking stands;
3. the shipped ranking: the ``rank`` field of each registry entry.
An unavailable backend is never chosen by 2 or 3: the next one is. The plain-Python
backends are chosen only when nothing else can run.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from collections.abc import Callable

import numpy as np

from . import record as _record
from .record import derived_cache, load_record
from .registry import BackendUnavailable, backends, entry, get, kernel_names

ENV = "KERNELS_BACKEND"

# kernels.use()'s choices as sorted (kernel, backend) pairs: hashable, so that they can
# key fastest's cache
_override: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "kernels_use", default=()
)


def _parse(spec: str, source: str) -> dict[str, str]:
    """``"numpy"`` -> every kernel; ``"softmax:numpy,mlp_epoch:numba"`` -> those kernels."""
    spec = spec.strip()
    if ":" not in spec:
        return {k: spec for k in kernel_names()}
    chosen = {}
    for item in spec.split(","):
        kernel, sep, backend = (part.strip() for part in item.partition(":"))
        if not sep or kernel not in kernel_names() or not backend:
            raise ValueError(
                f"{source}: cannot read {item!r}; write a backend name, or "
                f"kernel:backend pairs separated by commas with kernels among "
                f"{', '.join(kernel_names())}"
            )
        chosen[kernel] = backend
    return chosen


@contextlib.contextmanager
def use(backend: str | None = None, **per_kernel: str):
    """Within the block, ``fastest`` returns ``backend`` (or the per-kernel choices),
    e.g. ``with kernels.use("numpy"):`` or ``with kernels.use(softmax="python"):``."""
    empty = [f"{k}=''" for k, b in per_kernel.items() if not b] + (["''"] if backend == "" else [])
    if empty:
        raise ValueError(
            f"use() was given an empty backend name ({', '.join(empty)}); name a "
            f"backend, e.g. use('numpy') or use(softmax='numba')"
        )
    chosen = {k: backend for k in kernel_names()} if backend else {}
    unknown = [k for k in per_kernel if k not in kernel_names()]
    if unknown:
        raise KeyError(
            f"unknown kernel(s) {', '.join(unknown)}; valid kernels: {', '.join(kernel_names())}"
        )
    for kernel, name in per_kernel.items():
        entry(kernel, name)  # KeyError listing the kernel's backends, now, not at fastest()
    names = sorted({b for k in kernel_names() for b in backends(k)})
    if backend and backend not in names:
        raise KeyError(f"unknown backend {backend!r}; valid backends: {', '.join(names)}")
    chosen.update(per_kernel)
    token = _override.set(tuple(sorted({**dict(_override.get()), **chosen}.items())))
    try:
        yield
    finally:
        _override.reset(token)


def _explicit(kernel: str) -> tuple[str, str] | None:
    chosen = dict(_override.get()).get(kernel)
    if chosen:
        return chosen, "kernels.use()"
    spec = os.environ.get(ENV)
    if spec:
        chosen = _parse(spec, f"{ENV}={spec}").get(kernel)
        if chosen:
            return chosen, f"{ENV}"
    return None


def check_size(size) -> int:
    """Rows per call as a positive int (None: 100, the benchmarks' K; below 1: 1).
    TypeError for a non-number, ValueError for NaN, an infinity or a fraction (2.5)."""
    if size is None:
        return 100
    if isinstance(size, (bool, np.bool_)) or not isinstance(
        size, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"size must be a number of rows (an integer); got {size!r}")
    if isinstance(size, (float, np.floating)) and not math.isfinite(size):
        raise ValueError(f"size must be a finite number of rows; got {size}")
    if isinstance(size, (float, np.floating)) and not float(size).is_integer():
        raise ValueError(f"size must be a whole number of rows (an integer); got {size}")
    return max(int(size), 1)


def check_dtype(dtype) -> str:
    """The dtype's name (``np.float32``, ``"f4"``, ``float`` -> ``"float32"``/``"float64"``;
    None: float64); TypeError for anything NumPy does not read as a dtype, ValueError for
    a dtype no kernel computes in (float16, integers)."""
    if dtype is None:
        return "float64"
    try:
        name = np.dtype(dtype).name
    except TypeError as exc:
        raise TypeError(
            f"dtype must be a NumPy dtype such as 'float64' or np.float32; got {dtype!r}"
        ) from exc
    if name not in ("float64", "float32"):
        raise ValueError(f"the kernels compute in float64 or float32; got dtype {name}")
    return name


def size_class(size: int | None, measured) -> int | None:
    """Of the ``measured`` sizes, the one nearest (in log scale) to a call of ``size``
    rows (None: 100, the benchmarks' K); None when nothing was measured."""
    size = check_size(size)
    return min(measured, key=lambda c: abs(math.log(size) - math.log(c)), default=None)


# ---- the choice ------------------------------------------------------------------------

_choice_cache: dict[tuple, tuple[str, str]] = derived_cache()  # cleared with the record's


def choose(kernel: str, *, dtype=None, size: int | None = None) -> tuple[str, str]:
    """``(backend, why)``: the backend ``fastest`` returns and the rule that picked it.

    From the autotune record, at the measured K nearest ``size``: the fastest measured
    backend, but only when it beats the shipped ranking's choice by more than the
    measured spread of their ratio (``margin > 1 + spread``); otherwise the record
    says "tie" and the ranking stands."""
    backends(kernel)  # KeyError listing the kernels for a bad name
    size, dtype = check_size(size), check_dtype(dtype)
    explicit = _explicit(kernel)
    if explicit:
        name, why = explicit
        entry(kernel, name)  # KeyError listing the valid backends
        get(kernel, name)  # BackendUnavailable saying why
        return name, why
    record = load_record() or {"results": {}, "spread": {}}
    by_size = record["results"].get(kernel, {}).get(dtype, {})
    measured = size_class(size, [int(s) for s in by_size])
    key = (kernel, dtype, measured, _record.record_path())  # the record is the path's
    if key not in _choice_cache:
        spread = record["spread"].get(kernel, {}).get(dtype, {}).get(str(measured), {})
        _choice_cache[key] = choose_from(
            kernel,
            by_size.get(str(measured), {}),
            spread,
            f"{dtype}, K = {measured}",
            threads=pool_reliable(record),
        )
    return _choice_cache[key]


def pool_reliable(record: dict) -> bool:
    """False where autotune found numba's thread pool too unsteady to time (its fork/join
    in slow spells): the ranking then never hands out a backend that splits its work over
    threads on its own word, only where it was measured fastest."""
    return record.get("machine", {}).get("thread_pool") != "unreliable"


def choose_from(
    kernel: str,
    timings: dict[str, float],
    spread: dict[str, float],
    where: str,
    threads: bool = True,
) -> tuple[str, str]:
    """``(backend, why)`` from one point of the record: ``timings`` (backend: seconds)
    and ``spread`` (backend: relative spread of its ratio to ``reference``); ``threads``:
    the ranking may hand out a backend that splits over numba's threads (``ranked``)."""
    # import only what may be picked: the measured backends, then the ranking in order
    # (an unranked backend such as jax is never imported unless the record names it)
    note = "" if threads else UNSTEADY
    # the registry decides what may be picked, not the record: never a plain-Python or a
    # GPU-only backend (a record may be hand-edited or come from another machine)
    usable = [
        b
        for b in backends(kernel)
        if b in timings and not entry(kernel, b).slow and entry(kernel, b).cpu and _runs(kernel, b)
    ]
    if not usable:
        return ranked(kernel, threads), "shipped ranking" + note
    first = reference(kernel, timings)
    stands = first if threads else ranked(kernel, threads=False)  # the ranking's own word
    best = min(usable, key=timings.get)
    if best == first or first not in timings:
        return best, f"autotune record ({where}: measured fastest)"
    margin = timings[first] / timings[best]
    if margin > 1 + spread.get(best, 0.0):
        return best, (
            f"autotune record ({where}: {margin:.2f}x faster than {first}, "
            f"spread {spread.get(best, 0.0):.1%})"
        )
    return stands, (
        f"shipped ranking (autotune record, {where}: tie, {best} {margin:.2f}x "
        f"within the spread {spread.get(best, 0.0):.1%})" + note
    )


UNSTEADY = "; one thread: this machine's thread pool could not be timed reliably"


def ranked(kernel: str, threads: bool = True) -> str:
    """The shipped ranking's choice: the runnable backend of lowest ``rank`` (unranked
    ones after every ranked one); with ``threads=False``, a backend that splits its work
    over numba's threads gives way to its one-thread twin (its ``serial``)."""
    rank = lambda b: (entry(kernel, b).rank is None, entry(kernel, b).rank or 0)
    for b in sorted(backends(kernel), key=rank):
        b = b if threads else entry(kernel, b).serial or b
        if _runs(kernel, b):
            return b
    raise BackendUnavailable(f"no backend of {kernel} can run here")


def reference(kernel: str, timed) -> str:
    """The backend a point's spreads are measured against: the ranked one where it was
    timed, else (autotune left the threaded one out) the ranking on one thread."""
    first = ranked(kernel)
    return first if first in timed else ranked(kernel, threads=False)


def _runs(kernel: str, backend: str) -> bool:
    try:
        get(kernel, backend)
    except BackendUnavailable:
        return False
    return True


# fastest's answers. ``kernels.softmax(z)`` asks on every call, and the rules take about
# 5 us, more than a small softmax itself; the answer depends only on the key's parts (the
# record's own cache is keyed on its path, and cleared with this one)
_fastest_cache: dict[tuple, Callable] = derived_cache()


def fastest(kernel: str, *, dtype=None, size: int | None = None) -> Callable:
    """The registered callable of the backend chosen for ``kernel`` (no wrapper):
    ``fastest(k) is get(k, b)``. ``dtype`` and ``size`` (rows per call) pick the
    nearest size the autotune record measured; the module docstring gives the order of
    the rules."""
    # the types too: size=True must not find size=1's answer (True == 1), but an error
    key = (kernel, dtype, type(dtype), size, type(size), _override.get(), os.environ.get(ENV))
    key += (_record.record_path(),)
    try:
        return _fastest_cache[key]
    except (KeyError, TypeError):  # not asked yet, or unhashable (choose says what is wrong)
        pass
    fn = get(kernel, choose(kernel, dtype=dtype, size=size)[0])
    with contextlib.suppress(TypeError):
        _fastest_cache[key] = fn
    return fn
