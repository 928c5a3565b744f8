"""This machine's autotune record: where it lives, its validation, which of it a process
may use (its fingerprint, machine.py), and atomic writes. ``kernels.select`` reads it;
``kernels.bench.experiments.tuning`` writes it."""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

from .machine import SINGLE_CORE, fingerprint, same_machine
from .ops import store_kind
from .ops.blocking import valid_blocks, valid_counts
from .registry import backends, kernel_names


def record_path() -> Path:
    """Where the record lives: the user cache directory of ``kernels``, as platformdirs
    names it from the environment (``XDG_CACHE_HOME``, ``HOME``)."""
    return _record_path(os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=16)
def _record_path(xdg_cache_home, home) -> Path:
    """record_path for these values of the variables it depends on: platformdirs takes
    about 10 us, and the streaming kernels look the record up on every call."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("kernels")) / "autotune.json"


def _valid_results(results, what: str = "results") -> dict:
    """``{kernel: {dtype: {K: {backend: value}}}}`` of known kernels and backends with only
    positive integer sizes K and finite values, positive for ``results`` (seconds per
    example), >= 0 for ``spread``; raises ValueError naming the first thing wrong."""

    def table(value, where):
        if not isinstance(value, dict):
            raise ValueError(f"{where} is {type(value).__name__}, not a table")
        return value

    for kernel, by_dtype in table(results, repr(what)).items():
        if kernel not in kernel_names():
            raise ValueError(f"it names the kernel {kernel!r}, which this version does not know")
        for dtype, by_size in table(by_dtype, f"{what}[{kernel!r}]").items():
            for size, values in table(by_size, f"{what}[{kernel!r}][{dtype!r}]").items():
                where = f"{what}[{kernel!r}][{dtype!r}][{size!r}]"
                if not (isinstance(size, str) and size.isdigit() and int(size) > 0):
                    raise ValueError(f"{where}: the size {size!r} is not a positive integer")
                for backend, value in table(values, where).items():
                    if backend not in backends(kernel):
                        raise ValueError(
                            f"it names the backend {backend!r} of {kernel}, which "
                            f"this version does not know"
                        )
                    if (
                        isinstance(value, bool)
                        or not isinstance(value, (int, float))
                        or not math.isfinite(value)
                        or value < 0
                        or (value == 0 and what == "results")
                    ):
                        raise ValueError(
                            f"{where}[{backend!r}] = {value!r} is not a "
                            f"{'time in seconds' if what == 'results' else 'spread'}"
                        )
    return results


_record_cache: dict[Path, object] = {}


def load_record() -> dict | None:
    """This machine's autotune record ``{"results": {kernel: {dtype: {K: {backend: s}}}},
    "spread": {same keys: (max - min) / min of the backend's pass figures or the ranked
    backend's, whichever is larger}}``, or
    None when there is none, it is unreadable or malformed, names a kernel or backend this
    version does not know, or was measured on another machine or version; only its
    ``SINGLE_CORE`` choices (no backend choices) where it was measured here under another
    thread setting (each warned once, in one line; never an exception)."""
    path = record_path()
    if path in _record_cache:
        return _record_cache[path]
    result = None
    try:
        if path.exists():
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or "results" not in record:
                raise ValueError("no 'results' table")
            _valid_results(record["results"])
            _valid_results(record.setdefault("spread", {}), "spread")
            if not isinstance(record.setdefault("machine", {}), dict):
                raise ValueError("'machine' is not a table")
            valid_blocks(record.setdefault("blocks", {}))
            valid_counts("tails", record.setdefault("tails", {}))
            valid_counts("cached", record.setdefault("cached", {}))
            store_kind.valid(record.get("stores"))
            here, there = fingerprint(), record.get("fingerprint")
            if there == here:
                result = record
            elif same_machine(here, there):
                # the same machine and versions under another thread setting: the
                # single-core choices (SINGLE_CORE) hold, the backend choices do not
                warnings.warn(
                    f"using only the single-core choices of the autotune record {path} "
                    f"(register blocks, store kind, column tails, cached x): its backend "
                    f"choices were measured under another thread setting (thread "
                    f"variables, allowed cores); run `python -m kernels autotune` under "
                    f"this one for them",
                    stacklevel=3,
                )
                result = {key: record[key] for key in SINGLE_CORE if key in record}
                result |= {"results": {}, "spread": {}, "machine": {}}
            else:
                warnings.warn(
                    f"ignoring the autotune record {path}: it was measured on another "
                    f"machine or version; run `python -m kernels autotune` here",
                    stacklevel=3,
                )
    # JSONDecodeError and UnicodeError are ValueErrors; a file nested deeper than Python's
    # recursion limit raises RecursionError, a 400-digit number OverflowError
    except (OSError, ValueError, RecursionError, OverflowError) as exc:
        warnings.warn(
            f"ignoring the unreadable autotune record {path} ({exc}); run "
            f"`python -m kernels autotune` to make a new one",
            stacklevel=3,
        )
    _record_cache[path] = result
    return result


def recorded_stores() -> str | None:
    """The store kind autotune measured faster on this machine, or None."""
    return (load_record() or {}).get("stores")


def recorded_blocks() -> dict | None:
    """The register blocks autotune measured on this machine (``{dtype: [MR, NV, BITS]}``),
    or None without a usable record (``load_record``)."""
    record = load_record()
    return (record or {}).get("blocks") or None


def recorded_tails() -> dict | None:
    """The most tail columns per dtype that autotune measured the numba epoch to send
    through BLAS on this machine (``{dtype: columns}``), or None."""
    return (load_record() or {}).get("tails") or None


def recorded_cached() -> dict | None:
    """The most bytes of a minibatch's x per dtype that autotune measured the numba epoch
    to count as cached on this machine (``{dtype: bytes}``), or None."""
    return (load_record() or {}).get("cached") or None


def check_writable() -> Path:
    """Raise OSError (naming the directory) unless the record can be written: autotune
    calls this before it times anything."""
    path = record_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".autotune-probe-"):
            pass
    except OSError as exc:
        raise OSError(
            f"cannot write the autotune record in {path.parent} ({exc.strerror or exc}); "
            f"set XDG_CACHE_HOME to a writable directory"
        ) from exc
    return path


def save_record(
    results: dict,
    spread: dict | None = None,
    noise: dict | None = None,
    machine: dict | None = None,
    blocks: dict | None = None,
    stores: str | None = None,
    tails: dict | None = None,
    cached: dict | None = None,
) -> Path:
    """Write the timings (seconds per example) and their spreads (see ``choose``) with
    this machine's fingerprint; later processes with the same fingerprint use them.
    ``noise``: what the measurement saw of other work per point (kept for the reader);
    ``machine``: facts of the machine beside the fingerprint (``{"thread_pool": ...}``,
    which ``select.pool_reliable`` reads); ``blocks``: the microkernel's register block
    per dtype measured here (``{dtype: [MR, NV, BITS]}``, ``recorded_blocks``);
    ``stores``: the store kind measured faster here (``recorded_stores``); ``tails``: the
    column tails the epoch sends through BLAS, per dtype (``recorded_tails``); ``cached``:
    the bytes of x it counts as cached, per dtype (``recorded_cached``).

    Each writer writes its own temporary file and renames it over the record (atomic on
    POSIX), so concurrent writers never collide and readers never see half a record."""
    path = check_writable()
    text = json.dumps(
        {
            "fingerprint": fingerprint(),
            "results": _valid_results(results),
            "spread": _valid_results(spread or {}, "spread"),
            "noise": noise or {},
            "machine": machine or {},
            "blocks": valid_blocks(blocks or {}),
            "stores": store_kind.valid(stores),
            "tails": valid_counts("tails", tails or {}),
            "cached": valid_counts("cached", cached or {}),
        },
        indent=1,
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".autotune-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    forget()
    return path


def drop_record() -> bool:
    """Remove this machine's record (True if there was one); this process forgets it too."""
    path = record_path()
    existed = path.exists()
    path.unlink(missing_ok=True)
    forget()
    return existed


# caches of what was derived from the record: select's choices, the kernels' store kind
_derived: list[dict] = [store_kind.kept]


def forget() -> None:
    """Drop what this process remembers of the record and what was derived from it: the
    next call reads the record again (after it was replaced, or the cache moved)."""
    _record_cache.clear()
    for cache in _derived:
        cache.clear()


def derived_cache() -> dict:
    """A dict that ``forget`` (and ``save_record``) clears with the record's cache."""
    cache: dict = {}
    _derived.append(cache)
    return cache
