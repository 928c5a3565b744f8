"""Pinning BLAS and numba threads, so they never fight for the same cores, and fixing
the allocator's policy, so that a timing does not depend on the process's history."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

from ...machine import THREAD_VARIABLES

# the cores this process may use, read once: pin() narrows the affinity, and a later
# pin() to more threads must widen it again within the cores it was first given
_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(n: int) -> dict[str, object]:
    """Run BLAS (OpenBLAS/MKL, via threadpoolctl), numba parallel loops and XLA on ``n``
    threads, and pin the process to the first ``n`` cores (``os.sched_setaffinity``):
    JAX's XLA flags alone do not keep it on one core.

    Libraries loaded later read the environment variables set here; numba, if not
    imported yet, then starts with ``n`` threads (importing it here would inflate the
    memory and start-up of processes that never use it).
    Also fixes glibc's malloc thresholds (``steady_allocator``).
    Returns the settings in force, for the record.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be an integer >= 1; got {n!r}")
    for var in THREAD_VARIABLES:  # numba's: below, only if numba has not started
        if var != "NUMBA_NUM_THREADS":
            os.environ[var] = str(n)
    if _CORES:
        if n > len(_CORES):
            raise ValueError(f"threads must be at most the {len(_CORES)} cores here; got {n}")
        os.sched_setaffinity(0, _CORES[:n])
    import scipy.linalg  # noqa: F401  loads the BLAS that numba's np.dot calls, so it is pinned too
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    if "numba" in sys.modules:
        import numba

        if n > numba.config.NUMBA_NUM_THREADS:
            raise ValueError(
                f"numba was started with at most {numba.config.NUMBA_NUM_THREADS} "
                f"threads (NUMBA_NUM_THREADS); cannot use {n}"
            )
        numba.set_num_threads(n)
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    steady_allocator()
    return settings()


@contextlib.contextmanager
def pinned(n: int):
    """``pin(n)`` for the block, then back to what was in force before it: the thread
    variables, the affinity, each loaded BLAS's thread count and numba's (the
    allocator's fixed policy stays). Yields the settings in force in the block."""
    from threadpoolctl import ThreadpoolController

    env = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    blas = [(lib, lib.num_threads) for lib in ThreadpoolController().lib_controllers]
    numba_threads = sys.modules["numba"].get_num_threads() if "numba" in sys.modules else None
    try:
        yield pin(n)
    finally:
        for var, value in env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
        for lib, threads in blas:
            lib.set_num_threads(threads)
        if numba_threads is not None:
            sys.modules["numba"].set_num_threads(numba_threads)


# glibc mallopt parameters (malloc.h) and the values set: blocks up to 32 MiB (the
# largest threshold glibc accepts on 64-bit) come from the heap, and freed memory is
# returned to the system only when 1 GiB lies unused at the heap's top
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_BYTES, _TRIM_BYTES = 32 << 20, 1 << 30
_allocator = None


def steady_allocator() -> str | None:
    """Keep freed blocks below 32 MiB in the process (glibc only; elsewhere a no-op).

    Why: glibc's default thresholds move with the process's history. A NumPy call that
    frees a few 0.6 MB temporaries (one minibatch of gradient_norm) can have them
    unmapped or trimmed and page-faulted in again on every call in a fresh process, but
    not in a process whose heap earlier work fragmented: the same code, several times
    apart (docs/design.md, section 6). With fixed thresholds each call reuses freed
    memory, which is what the report's "cache-hot" figures claim. Blocks above 32 MiB (the streaming
    outputs, a K = 60000 minibatch) still come fresh from the system on every call.
    Returns a description of the policy in force, or None where it cannot be set.
    """
    global _allocator
    if _allocator is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
            return None
        if mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES) and mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES):
            _allocator = (
                f"glibc: heap up to {_MMAP_BYTES >> 20} MiB blocks, trim at {_TRIM_BYTES >> 30} GiB"
            )
    return _allocator


def settings() -> dict[str, object]:
    """The thread counts in force: each BLAS library's, numba's if it is imported, and
    the cores the process may run on."""
    from threadpoolctl import threadpool_info

    blas = {
        f"{i['internal_api']} {i['version']}": i["num_threads"]
        for i in threadpool_info()
        if i["user_api"] == "blas"
    }
    numba_threads = None
    if "numba" in sys.modules:
        import numba

        numba_threads = numba.get_num_threads()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"blas": blas, "numba": numba_threads, "cores": cores, "allocator": _allocator}
