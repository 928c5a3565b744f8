"""The one table of kernels and their backends.

Every harness (tests, benchmarks, report, selection) iterates over this table,
so a backend registered here is tested, timed and selectable with no other edit.
Backend modules are imported on first use, so ``import kernels`` stays light and
never imports numba.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .ops.errors import BackendUnavailable


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
    outside the timed region; None: it never runs on a GPU. ``compiles``: its first call
    in a process compiles (the cold-start probes time it). ``versions``: the
    distributions whose versions the report prints and the autotune record fingerprints.
    ``colour``, ``marker``: how every plot draws it (one colour per backend name).
    ``serial``: the backend that runs the same code on one thread, where this one splits
    its work over numba's threads (selection falls back to it on a machine whose thread
    pool cannot be timed reliably). ``role``: what the harnesses use it for (``ROLES``),
    at most one backend per role and kernel.
    """

    kernel: str
    name: str
    target: str
    needs: tuple[str, ...] = ()
    slow: bool = False
    rank: int | None = None
    cpu: bool = True
    gpu: str | None = None
    compiles: bool = False
    versions: tuple[str, ...] = ()
    colour: str = ""
    marker: str = "o"
    serial: str | None = None
    role: str | None = None


# What a backend may be to the harnesses, named by the registry rather than by backend
# names in the harness: "reference", the plain definition that ``python -m kernels
# agree`` holds every other against and the report's first ratio; "baseline", the array
# code of the report's second ratio and the scaling plots' speed-ups; "compiled", the
# backend a peer's result is checked against and whose epochs the variants time.
ROLES = ("reference", "baseline", "compiled")

# Colours and markers in the order backend names are first registered: a new backend
# gets the next pair that no other backend has.
PALETTE = (
    "tab:gray",
    "tab:brown",
    "tab:blue",
    "tab:red",
    "tab:green",
    "tab:orange",
    "tab:purple",
    "tab:cyan",
    "tab:pink",
    "tab:olive",
    "navy",
    "gold",
    "teal",
    "maroon",
    "lime",
    "black",
)
MARKERS = "osD^vPXh*<>pd8Hx"

_TABLE: dict[str, dict[str, Backend]] = {}


def styles() -> dict[str, tuple[str, str]]:
    """``{backend name: (colour, marker)}`` of every registered backend, in table order."""
    return {e.name: (e.colour, e.marker) for row in _TABLE.values() for e in row.values()}


def style_of(name: str) -> tuple[str, str]:
    """The colour and marker every plot draws backend ``name`` with; a black circle for a
    name found in saved results but no longer registered."""
    return styles().get(name, ("black", "o"))


def _style(name: str) -> tuple[str, str]:
    """The colour and marker of backend ``name``: its own if any kernel has it already,
    else the first palette entry no other name has."""
    named = styles()
    if name in named:
        return named[name]
    taken = {colour for colour, _ in named.values()}
    i = next((i for i, c in enumerate(PALETTE) if c not in taken), len(named))
    return PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]


def register(kernel: str, name: str, target: str, **facts) -> Backend:
    """Add backend ``name`` of ``kernel`` (``"module:function"``) to the table, with the
    facts of ``Backend`` (the versions default to what it ``needs``; colour and marker
    to its name's own, or a new pair); a second registration of the same name, a name
    that ``KERNELS_BACKEND`` cannot write (empty, or with ``:`` or ``,``) and a target not
    of the form ``"package.module:function"`` raise ValueError."""
    if not isinstance(name, str) or not name.strip() or set(name) & set(":,"):
        raise ValueError(
            f"a backend name must be non-empty text without ':' or ',' (the "
            f"separators of KERNELS_BACKEND); got {name!r}"
        )
    module, colon, function = target.partition(":") if isinstance(target, str) else ("", "", "")
    if not (
        colon and function.isidentifier() and all(part.isidentifier() for part in module.split("."))
    ):
        raise ValueError(
            f'the target of backend {name!r} must be "package.module:function"; got {target!r}'
        )
    role = facts.get("role")
    if role is not None and role not in ROLES:
        raise ValueError(f"the role of backend {name!r} must be one of {ROLES}; got {role!r}")
    holder = role_of(kernel, role) if role is not None else None
    if holder:
        raise ValueError(f"kernel {kernel!r} has a {role} already ({holder}); one per kernel")
    backends_of = _TABLE.get(kernel, {})
    if name in backends_of:
        raise ValueError(
            f"backend {name!r} of kernel {kernel!r} is already registered "
            f"({backends_of[name].target})"
        )
    facts["needs"] = tuple(facts.get("needs", ()))
    facts["versions"] = tuple(facts.get("versions", facts["needs"]))
    colour, marker = _style(name)
    facts.setdefault("colour", colour)
    facts.setdefault("marker", marker)
    entry = Backend(kernel, name, target, **facts)
    _TABLE.setdefault(kernel, {})[name] = entry  # a kernel is listed once a backend of it holds
    return entry


def role_of(kernel: str, role: str) -> str | None:
    """The backend of ``kernel`` registered with ``role`` (``ROLES``), or None."""
    return next((e.name for e in _TABLE.get(kernel, {}).values() if e.role == role), None)


def kernel_names() -> tuple[str, ...]:
    """The registered kernels, in registration order (``kernels.KERNELS``)."""
    return tuple(_TABLE)


def __getattr__(name: str):
    if name == "KERNELS":  # read at each use, so a kernel registered later is listed
        return kernel_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def entry(kernel: str, backend: str) -> Backend:
    """The table entry; unknown names raise KeyError listing the valid ones."""
    if kernel not in _TABLE:
        raise KeyError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(kernel_names())}")
    if backend not in _TABLE[kernel]:
        raise KeyError(
            f"unknown backend {backend!r} for kernel {kernel!r}; "
            f"valid backends: {', '.join(_TABLE[kernel])}"
        )
    return _TABLE[kernel][backend]


def backends(kernel: str) -> tuple[str, ...]:
    """Registered backend names of ``kernel``, whether or not they can run here."""
    if kernel not in _TABLE:
        raise KeyError(f"unknown kernel {kernel!r}; valid kernels: {', '.join(kernel_names())}")
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
            _failures[key] = (
                f"it needs {', '.join(e.needs)} ({type(exc).__name__}: {exc}). "
                f"Install it (pip install {' '.join(e.needs)})"
            )
        else:
            module, _, function = e.target.partition(":")
            try:
                _loaded[key] = getattr(importlib.import_module(module), function)
                return _loaded[key]
            except BackendUnavailable as exc:  # the module's own reason: no GPU here
                _failures[key] = str(exc)
            except (ImportError, AttributeError) as exc:  # a broken registration or module
                _failures[key] = (
                    f"its target {e.target} cannot be loaded ({type(exc).__name__}: {exc})"
                )
    raise BackendUnavailable(
        f"backend {backend!r} of kernel {kernel!r} cannot run here: {_failures[key]}; "
        f"or use one of: "
        f"{', '.join(n for n in backends(kernel) if (kernel, n) not in _failures)}"
    )


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


def compiled() -> tuple[str, ...]:
    """The backend names whose first call in a process compiles (the cold-start probes)."""
    return tuple(
        dict.fromkeys(e.name for row in _TABLE.values() for e in row.values() if e.compiles)
    )


def versions() -> tuple[str, ...]:
    """The distributions whose versions the backends depend on (report, fingerprint)."""
    return tuple(
        dict.fromkeys(v for row in _TABLE.values() for e in row.values() for v in e.versions)
    )
