"""Which backend users get: ``kernels.fastest(kernel, dtype=..., size=...)``.

First that applies:
1. an explicit choice: ``kernels.use(...)`` (a context manager) or the environment
   variable ``KERNELS_BACKEND`` (``numpy``, or per kernel ``softmax:numpy,mlp_epoch:numba``);
   an unknown or unavailable name is an error, never a silent fallback;
2. this machine's autotune record (``python -m kernels autotune``) for the dtype and
   the size class of the call;
3. the shipped ranking, DEFAULT_RANKING.
An unavailable backend is never chosen by 2 or 3: the next one is. The plain-Python
backends are chosen only when nothing else can run.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import warnings
from pathlib import Path
from typing import Callable

from .registry import KERNELS, available, backends, entry, get

# Measured by `python -m kernels report` (README, "Performance"): the compiled loops
# beat the array code, which beats the per-example loop, on every kernel in float64
# and all but mlp_bprop in float32 (numpy ~10 % ahead there; autotune records it).
DEFAULT_RANKING = ("numba", "numpy", "example-loop", "python")
SIZE_CLASSES = (1, 100, 10_000)      # rows per call that autotune measures
ENV = "KERNELS_BACKEND"

_override: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("kernels_use", default={})


def _parse(spec: str, source: str) -> dict[str, str]:
    """``"numpy"`` -> every kernel; ``"softmax:numpy,mlp_epoch:numba"`` -> those kernels."""
    spec = spec.strip()
    if ":" not in spec:
        return {k: spec for k in KERNELS}
    chosen = {}
    for item in spec.split(","):
        kernel, sep, backend = item.strip().partition(":")
        if not sep or kernel not in KERNELS:
            raise ValueError(f"{source}: cannot read {item!r}; write a backend name, or "
                             f"kernel:backend pairs separated by commas with kernels among "
                             f"{', '.join(KERNELS)}")
        chosen[kernel] = backend.strip()
    return chosen


@contextlib.contextmanager
def use(backend: str | None = None, **per_kernel: str):
    """Within the block, ``fastest`` returns ``backend`` (or the per-kernel choices),
    e.g. ``with kernels.use("numpy"):`` or ``with kernels.use(softmax="python"):``."""
    chosen = {k: backend for k in KERNELS} if backend else {}
    unknown = [k for k in per_kernel if k not in KERNELS]
    if unknown:
        raise KeyError(f"unknown kernel(s) {', '.join(unknown)}; valid kernels: {', '.join(KERNELS)}")
    chosen.update(per_kernel)
    token = _override.set({**_override.get(), **chosen})
    try:
        yield
    finally:
        _override.reset(token)


def _explicit(kernel: str) -> tuple[str, str] | None:
    chosen = _override.get().get(kernel)
    if chosen:
        return chosen, "kernels.use()"
    spec = os.environ.get(ENV)
    if spec:
        chosen = _parse(spec, f"{ENV}={spec}").get(kernel)
        if chosen:
            return chosen, f"{ENV}"
    return None


def size_class(size: int | None) -> int:
    """The measured size class nearest (in log scale) to a call of ``size`` rows."""
    if size is None:
        return 100
    import math
    return min(SIZE_CLASSES, key=lambda c: abs(math.log(max(size, 1)) - math.log(c)))


# ---- the autotune record -------------------------------------------------------------

def record_path() -> Path:
    import platformdirs
    return Path(platformdirs.user_cache_dir("kernels")) / "autotune.json"


def fingerprint() -> dict:
    """What must not change for a record to hold: CPU, cores, threads, versions."""
    import numpy
    from . import __version__
    from .limits import cpu_model
    try:
        from importlib.metadata import version
        numba_version = version("numba")     # without importing numba
    except Exception:
        numba_version = None
    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "threads": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")},
            "numpy": numpy.__version__, "numba": numba_version, "kernels": __version__}


_record_cache: dict[str, object] = {}


def load_record() -> dict | None:
    """This machine's autotune timings ``{kernel: {dtype: {size class: {backend: s}}}}``, or
    None when there is none, it is unreadable, or it was measured elsewhere (warned once)."""
    path = record_path()
    key = str(path)
    if key in _record_cache:
        return _record_cache[key]
    result = None
    if path.exists():
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or not isinstance(record.get("results"), dict):
                raise ValueError("no 'results' table")
            if record.get("fingerprint") != fingerprint():
                warnings.warn(f"ignoring the autotune record {path}: it was measured on another "
                              f"machine, thread setting or version; run `python -m kernels autotune`",
                              stacklevel=3)
            else:
                result = record["results"]
        except (OSError, ValueError) as exc:
            warnings.warn(f"ignoring the unreadable autotune record {path} ({exc}); run "
                          f"`python -m kernels autotune` to make a new one", stacklevel=3)
    _record_cache[key] = result
    return result


def save_record(results: dict) -> Path:
    """Write the timings with this machine's fingerprint; later processes use them."""
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fingerprint(), "results": results}, indent=1))
    tmp.replace(path)                     # never a half-written record
    _record_cache.clear()
    _choice_cache.clear()
    return path


# ---- the choice ------------------------------------------------------------------------

_choice_cache: dict[tuple, tuple[str, str]] = {}


def choose(kernel: str, *, dtype=None, size: int | None = None) -> tuple[str, str]:
    """``(backend, why)``: the backend ``fastest`` returns and the rule that picked it."""
    backends(kernel)                      # KeyError listing the kernels for a bad name
    explicit = _explicit(kernel)
    if explicit:
        name, why = explicit
        entry(kernel, name)               # KeyError listing the valid backends
        get(kernel, name)                 # BackendUnavailable saying why
        return name, why
    dtype = "float64" if dtype is None else str(getattr(dtype, "name", dtype))
    key = (kernel, dtype, size_class(size))
    if key not in _choice_cache:
        runnable = [b for b in available(kernel) if not entry(kernel, b).slow] or list(available(kernel))
        timings = ((load_record() or {}).get(kernel, {}).get(dtype, {}).get(str(key[2]), {}))
        measured = [b for b in runnable if isinstance(timings.get(b), (int, float))]
        if measured:
            best = min(measured, key=timings.get)
            _choice_cache[key] = best, f"autotune record ({dtype}, size class {key[2]})"
        else:
            rank = lambda b: DEFAULT_RANKING.index(b) if b in DEFAULT_RANKING else len(DEFAULT_RANKING)
            _choice_cache[key] = min(runnable, key=rank), "shipped ranking"
    return _choice_cache[key]


def fastest(kernel: str, *, dtype=None, size: int | None = None) -> Callable:
    """The registered callable of the backend chosen for ``kernel`` (no wrapper):
    ``fastest(k) is get(k, b)``. ``dtype`` and ``size`` (rows per call) pick the
    autotune size class; see the module docstring for the order of the rules."""
    return get(kernel, choose(kernel, dtype=dtype, size=size)[0])
