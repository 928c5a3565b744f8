"""What an autotune record must match for a process to use it: the machine (CPU, cores),
the versions of what the backends depend on, and the thread conditions; and which of
its choices hold under other thread conditions (``SINGLE_CORE``). ``kernels.record``
compares them."""

from __future__ import annotations

import os

from .registry import versions

# what autotune measures on one core, whatever the thread setting it ran under (blocks,
# store kind, column tails and cached x are timed by numba-serial code in processes of
# their own): a record made under other thread variables or allowed cores still gives
# these, never its backend choices
SINGLE_CORE = ("blocks", "stores", "tails", "cached")


def same_machine(here: dict, there) -> bool:
    """Whether two fingerprints differ at most in their thread conditions."""
    return isinstance(there, dict) and {**there, "conditions": None} == {**here, "conditions": None}


def fingerprint() -> dict:
    """What must not change for a record to hold: CPU, cores, threads, and the versions
    of what the registered backends depend on."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy

    def installed(name):  # without importing it
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "conditions": conditions(),
        "numpy": numpy.__version__,
        **{name: installed(name) for name in versions()},
        "kernels": installed("kernels"),
    }


THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OMP_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def conditions() -> dict:
    """The process's thread conditions, read without importing numba or a BLAS: the thread
    variables (unset: each library's default, one thread per core) and the cores the
    process may run on. A record measured under other conditions is not used."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"threads": {v: os.environ.get(v) for v in THREAD_VARIABLES}, "allowed_cores": cores}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or what ``platform`` knows elsewhere."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            return next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()
