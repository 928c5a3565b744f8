"""Which backend users get: ``kernels.fastest(kernel, dtype=..., size=...)``.

First that applies:
1. an explicit choice: ``kernels.use(...)`` (a context manager) or the environment
   variable ``KERNELS_BACKEND`` (``numpy``, or per kernel ``softmax:numpy,mlp_epoch:numba``);
   an unknown or unavailable name is an error, never a silent fallback;
2. this machine's autotune record (``python -m kernels autotune``) for the dtype, at
   the measured minibatch size nearest (in log scale) to the call's rows; the record
   holds the K axis of the scaling sweep, so its crossovers are where the choice changes;
3. the shipped ranking: the ``rank`` field of each registry entry.
An unavailable backend is never chosen by 2 or 3: the next one is. The plain-Python
backends are chosen only when nothing else can run.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

from .registry import KERNELS, BackendUnavailable, backends, entry, get

ENV = "KERNELS_BACKEND"

_override: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("kernels_use", default={})


def _parse(spec: str, source: str) -> dict[str, str]:
    """``"numpy"`` -> every kernel; ``"softmax:numpy,mlp_epoch:numba"`` -> those kernels."""
    spec = spec.strip()
    if ":" not in spec:
        return {k: spec for k in KERNELS}
    chosen = {}
    for item in spec.split(","):
        kernel, sep, backend = (part.strip() for part in item.partition(":"))
        if not sep or kernel not in KERNELS or not backend:
            raise ValueError(f"{source}: cannot read {item!r}; write a backend name, or "
                             f"kernel:backend pairs separated by commas with kernels among "
                             f"{', '.join(KERNELS)}")
        chosen[kernel] = backend
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


def size_class(size: int | None, measured) -> int | None:
    """Of the ``measured`` sizes, the one nearest (in log scale) to a call of ``size``
    rows (None: 100, the benchmarks' K); None when nothing was measured."""
    size = 100 if size is None else max(int(size), 1)
    return min(measured, key=lambda c: abs(math.log(size) - math.log(c)), default=None)


# ---- the autotune record -------------------------------------------------------------

def record_path() -> Path:
    import platformdirs
    return Path(platformdirs.user_cache_dir("kernels")) / "autotune.json"


def fingerprint() -> dict:
    """What must not change for a record to hold: CPU, cores, threads, versions."""
    import numpy
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):                  # without importing it
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "threads": {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")},
            "numpy": numpy.__version__, "numba": installed("numba"), "jax": installed("jax"),
            "kernels": installed("kernels")}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or what ``platform`` knows elsewhere."""
    import platform
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


_record_cache: dict[str, object] = {}


def _valid_results(results) -> dict:
    """``{kernel: {dtype: {K: {backend: seconds}}}}`` with only positive integer sizes K
    and positive, finite timings; raises ValueError naming the first thing of the wrong
    type or value."""
    def table(value, where):
        if not isinstance(value, dict):
            raise ValueError(f"{where} is {type(value).__name__}, not a table")
        return value
    for kernel, by_dtype in table(results, "'results'").items():
        for dtype, by_size in table(by_dtype, f"results[{kernel!r}]").items():
            for size, timings in table(by_size, f"results[{kernel!r}][{dtype!r}]").items():
                where = f"results[{kernel!r}][{dtype!r}][{size!r}]"
                if not (isinstance(size, str) and size.isdigit() and int(size) > 0):
                    raise ValueError(f"{where}: the size {size!r} is not a positive integer")
                for backend, seconds in table(timings, where).items():
                    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                            or not math.isfinite(seconds) or seconds <= 0:
                        raise ValueError(f"{where}[{backend!r}] = {seconds!r} is not a time in seconds")
    return results


_record_cache: dict[str, object] = {}


def load_record() -> dict | None:
    """This machine's autotune timings ``{kernel: {dtype: {K: {backend: s}}}}``, or
    None when there is none, it is unreadable or malformed, or it was measured elsewhere
    (each warned once, in one line; never an exception)."""
    path = record_path()
    key = str(path)
    if key in _record_cache:
        return _record_cache[key]
    result = None
    try:
        if path.exists():
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or "results" not in record:
                raise ValueError("no 'results' table")
            results = _valid_results(record["results"])
            if record.get("fingerprint") != fingerprint():
                warnings.warn(f"ignoring the autotune record {path}: it was measured on another "
                              f"machine, thread setting or version; run `python -m kernels autotune`",
                              stacklevel=3)
            else:
                result = results
    except (OSError, ValueError) as exc:        # JSONDecodeError and UnicodeError are ValueErrors
        warnings.warn(f"ignoring the unreadable autotune record {path} ({exc}); run "
                      f"`python -m kernels autotune` to make a new one", stacklevel=3)
    _record_cache[key] = result
    return result


def check_writable() -> Path:
    """Raise OSError (naming the directory) unless the record can be written: autotune
    calls this before it times anything."""
    path = record_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".autotune-probe-"):
            pass
    except OSError as exc:
        raise OSError(f"cannot write the autotune record in {path.parent} ({exc.strerror or exc}); "
                      f"set XDG_CACHE_HOME to a writable directory") from exc
    return path


def save_record(results: dict) -> Path:
    """Write the timings with this machine's fingerprint; later processes use them.

    Each writer writes its own temporary file and renames it over the record (atomic on
    POSIX), so concurrent writers never collide and readers never see half a record."""
    path = check_writable()
    text = json.dumps({"fingerprint": fingerprint(), "results": _valid_results(results)}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".autotune-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
    by_size = (load_record() or {}).get(kernel, {}).get(dtype, {})
    measured = size_class(size, [int(s) for s in by_size])
    key = (kernel, dtype, measured)
    if key not in _choice_cache:
        # import only what may be picked: the measured backends, then the ranking in order
        # (an unranked backend such as jax is never imported unless the record names it)
        timings = by_size.get(str(measured), {})
        usable = [b for b in backends(kernel)
                  if b in timings and not entry(kernel, b).slow and _runs(kernel, b)]
        if usable:
            best = min(usable, key=timings.get)
            _choice_cache[key] = best, f"autotune record ({dtype}, K = {measured})"
        else:
            rank = lambda b: (entry(kernel, b).rank is None, entry(kernel, b).rank or 0)
            best = next(b for b in sorted(backends(kernel), key=rank) if _runs(kernel, b))
            _choice_cache[key] = best, "shipped ranking"
    return _choice_cache[key]


def _runs(kernel: str, backend: str) -> bool:
    try:
        get(kernel, backend)
    except BackendUnavailable:
        return False
    return True


def fastest(kernel: str, *, dtype=None, size: int | None = None) -> Callable:
    """The registered callable of the backend chosen for ``kernel`` (no wrapper):
    ``fastest(k) is get(k, b)``. ``dtype`` and ``size`` (rows per call) pick the
    nearest size the autotune record measured; see the module docstring for the order of the rules."""
    return get(kernel, choose(kernel, dtype=dtype, size=size)[0])
