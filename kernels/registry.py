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
    """One implementation of one kernel: every fact the harnesses and selection use.

    ``target``: ``"module:function"``, imported on first use. ``needs``: the optional
    modules it imports (missing -> unavailable, the rest still works). ``slow``: a
    plain-Python reference, timed on a slice of the epoch and extrapolated, and chosen by
    ``kernels.fastest`` only when nothing else runs. ``rank``: its place in the shipped
    ranking (0 first); None: chosen only when asked for or when measured fastest here.
    ``cpu``: it computes on the CPU when given NumPy arrays (the CPU harnesses time it);
    False for a GPU-only backend, which copies NumPy inputs to the device and back.
    ``gpu``: the array library whose arrays it computes on in place on a GPU (``"numba"``
    device arrays, ``"cupy"``, ``"jax"``): the GPU harness places the data there once,
    outside the timed region; None: it never runs on a GPU.
    """

    kernel: str
    name: str
    target: str
    needs: tuple[str, ...] = ()
    slow: bool = False
    rank: int | None = None
    cpu: bool = True
    gpu: str | None = None


_TABLE: dict[str, dict[str, Backend]] = {}


def register(kernel: str, name: str, target: str, *, needs=(), slow=False, rank=None,
             cpu=True, gpu=None) -> Backend:
    """Add a backend to the table; a second registration of the same name raises."""
    backends_of = _TABLE.setdefault(kernel, {})
    if name in backends_of:
        raise ValueError(f"backend {name!r} of kernel {kernel!r} is already registered "
                         f"({backends_of[name].target})")
    entry = Backend(kernel, name, target, tuple(needs), slow, rank, cpu, gpu)
    backends_of[name] = entry
    return entry


# The shipped ranking, measured by `python -m kernels report` (docs/results): compiled
# loops beat array code, which beats the per-example loop, on every kernel in float64;
# plain Python is the reference. Unranked backends (jax, numba-serial, the GPU ones and
# array-api) are picked only where autotune measures them faster, or when asked for.
# Module names never shadow numpy, numba, jax or cupy.
_STRATEGIES = {  # backend: module inside the kernel's folder, then the entry's facts
    "numba": dict(module="jit", needs=("numba",), rank=0),
    "numpy": dict(module="vectorized", rank=1),
    "example-loop": dict(module="example_loop", rank=2),
    "python": dict(module="loops", slow=True, rank=3),
    "jax": dict(module="xla", needs=("jax",), gpu="jax"),
    # numba's loops on one thread where "numba" splits them over its threads
    "numba-serial": dict(module="jit", suffix="_serial", needs=("numba",)),
    # the same loops compiled for the GPU: one device thread per pixel, row or output
    "numba-cuda": dict(module="cuda_jit", needs=("numba",), cpu=False, gpu="numba"),
    # array code written once against the Python array API: NumPy arrays in, NumPy out;
    # CuPy (GPU), PyTorch or array-api-strict arrays in, the same library's out
    "array-api": dict(module="portable", needs=("array_api_compat",), gpu="cupy"),
}
for _kernel, _folder, _function, _names in (
    ("gradient_norm", "gradient_norm", "gradient_norm",
     ("python", "numpy", "numba", "jax", "numba-serial", "numba-cuda", "array-api")),
    ("softmax", "softmax", "softmax", ("python", "numpy", "numba", "jax", "numba-cuda", "array-api")),
    ("mlp_fprop", "mlp", "fprop",
     ("python", "example-loop", "numpy", "numba", "jax", "numba-cuda", "array-api")),
    ("mlp_bprop", "mlp", "bprop",
     ("python", "example-loop", "numpy", "numba", "jax", "numba-cuda", "array-api")),
    ("mlp_epoch", "mlp", "epoch",
     ("python", "example-loop", "numpy", "numba", "jax", "numba-serial", "numba-cuda", "array-api")),
):
    for _name in _names:
        _facts = dict(_STRATEGIES[_name])
        _module, _suffix = _facts.pop("module"), _facts.pop("suffix", "")
        register(_kernel, _name, f"kernels.ops.{_folder}.{_module}:{_function}{_suffix}", **_facts)

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
            _failures[key] = (f"it needs {', '.join(e.needs)} ({type(exc).__name__}: {exc}). "
                              f"Install it (pip install {' '.join(e.needs)})")
        else:
            module, _, function = e.target.partition(":")
            try:
                _loaded[key] = getattr(importlib.import_module(module), function)
                return _loaded[key]
            except BackendUnavailable as exc:     # the module's own reason: no GPU here
                _failures[key] = str(exc)
    raise BackendUnavailable(
        f"backend {backend!r} of kernel {kernel!r} cannot run here: {_failures[key]}; "
        f"or use one of: "
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


def on_cpu(kernel: str) -> tuple[str, ...]:
    """Available backends of ``kernel`` that compute on the CPU (what the CPU harnesses
    time): all but the GPU-only ones."""
    return tuple(name for name in available(kernel) if entry(kernel, name).cpu)
