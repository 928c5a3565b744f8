"""The one table of kernels and their backends.

Every harness (tests, benchmarks, report, selection) iterates over this table,
so a backend registered here is tested, timed and selectable with no other edit.
Backend modules are imported on first use, so ``import kernels`` stays light and
never imports numba.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


class BackendUnavailable(ImportError):
    """A registered backend that cannot run here (e.g. numba failed to import)."""


@dataclass(frozen=True)
class Backend:
    """One implementation of one kernel.

    ``target`` is ``"module:function"``; ``needs`` names the optional modules it
    imports; ``slow`` marks plain-Python loops, which harnesses time on a slice
    of an epoch and extrapolate (DESIGN §6).
    """

    kernel: str
    name: str
    target: str
    needs: tuple[str, ...] = ()
    slow: bool = False


_TABLE: dict[str, dict[str, Backend]] = {}


def register(kernel: str, name: str, target: str, *, needs=(), slow=False) -> Backend:
    """Add a backend to the table; a second registration of the same name raises."""
    backends_of = _TABLE.setdefault(kernel, {})
    if name in backends_of:
        raise ValueError(f"backend {name!r} of kernel {kernel!r} is already registered "
                         f"({backends_of[name].target})")
    entry = Backend(kernel, name, target, tuple(needs), slow)
    backends_of[name] = entry
    return entry


# Backend name -> module name inside the kernel's package (no module may shadow
# numpy or numba, hence these names).
_MODULES = {"python": "loops", "example-loop": "example_loop", "numpy": "vectorized", "numba": "jit"}

for _kernel, _package, _function, _names in (
    # gradient_norm and softmax live in private packages: the public names
    # kernels.gradient_norm / kernels.softmax are the functions (DESIGN §3), and a
    # subpackage of the same name would replace them on import.
    ("gradient_norm", "_gradient_norm", "gradient_norm", ("python", "numpy", "numba")),
    ("softmax", "_softmax", "softmax", ("python", "numpy", "numba")),
    ("mlp_fprop", "mlp", "fprop", ("python", "example-loop", "numpy", "numba")),
    ("mlp_bprop", "mlp", "bprop", ("python", "example-loop", "numpy", "numba")),
    ("mlp_epoch", "mlp", "epoch", ("python", "example-loop", "numpy", "numba")),
):
    for _name in _names:
        register(_kernel, _name, f"kernels.{_package}.{_MODULES[_name]}:{_function}",
                 needs=("numba",) if _name == "numba" else (), slow=_name == "python")

KERNELS: tuple[str, ...] = tuple(_TABLE)


def entry(kernel: str, backend: str) -> Backend:
    """The table entry; unknown names raise KeyError listing the valid ones."""
    if kernel not in _TABLE:
        raise KeyError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(KERNELS)}")
    if backend not in _TABLE[kernel]:
        raise KeyError(f"unknown backend {backend!r} for kernel {kernel!r}; "
                       f"valid backends: {', '.join(_TABLE[kernel])}")
    return _TABLE[kernel][backend]


def backends(kernel: str) -> tuple[str, ...]:
    """Registered backend names of ``kernel``, whether or not they can run here."""
    if kernel not in _TABLE:
        raise KeyError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(KERNELS)}")
    return tuple(_TABLE[kernel])


_loaded: dict[tuple[str, str], Callable] = {}
_failures: dict[tuple[str, str], str] = {}


def get(kernel: str, backend: str) -> Callable:
    """The backend's callable itself (imported on first use, then cached).

    Raises KeyError for unknown names and BackendUnavailable, saying why, for a
    backend that cannot be imported here.
    """
    e = entry(kernel, backend)
    key = (kernel, backend)
    if key in _loaded:
        return _loaded[key]
    if key not in _failures:
        try:  # only the declared optional modules may be missing; our own must import
            for needed in e.needs:
                importlib.import_module(needed)
        except Exception as exc:  # numba missing or broken: the rest still works
            _failures[key] = f"{type(exc).__name__}: {exc}"
        else:
            module, _, function = e.target.partition(":")
            _loaded[key] = getattr(importlib.import_module(module), function)
            return _loaded[key]
    raise BackendUnavailable(
        f"backend {backend!r} of kernel {kernel!r} cannot run here: it needs "
        f"{', '.join(e.needs) or 'its module'} ({_failures[key]}). "
        f"Install it (pip install {' '.join(e.needs) or 'kernels'}) or use one of: "
        f"{', '.join(n for n in backends(kernel) if (kernel, n) not in _failures)}")


def available(kernel: str) -> tuple[str, ...]:
    """Registered backends of ``kernel`` that import here, in table order."""
    names = []
    for name in backends(kernel):
        try:
            get(kernel, name)
        except BackendUnavailable:
            continue
        names.append(name)
    return tuple(names)
