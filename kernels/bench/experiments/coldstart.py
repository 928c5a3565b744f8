"""Cold start: ``import kernels`` time, and the first call of each numba and jax kernel
in a fresh process, with empty caches (a fresh compile) and with warm ones (numba's
cache=True, JAX's persistent compilation cache). Each measurement runs in its own
subprocess, so nothing is already compiled."""

from __future__ import annotations

import os
import shutil
import tempfile

from ...machine import THREAD_VARIABLES
from ...registry import compiled, kernel_names
from ..timing.fresh import run_json

_PROBE = r"""
import json, sys, time
start = time.perf_counter()
import kernels
seconds = {"import kernels": time.perf_counter() - start}
start = time.perf_counter()
import numba
seconds["import numba"] = time.perf_counter() - start
# numba's code generator starts on the first dispatch of the process, whichever
# function it is: pay it on a trivial function so each kernel shows its own cost
start = time.perf_counter()
numba.njit(lambda: 0)()
seconds["numba start (first compile)"] = time.perf_counter() - start
start = time.perf_counter()
try:
    import kernels.ops.jax_support                       # imports jax, sets up its cache
    seconds["import jax"] = time.perf_counter() - start
except ImportError:
    pass
from kernels.bench.workloads import Workload
for backend in sys.argv[3].split(","):
    for kernel in sys.argv[2].split(","):
        if backend not in kernels.available(kernel):
            continue
        work = Workload(kernel, dtype=sys.argv[1], n=100)   # data loading is not timed
        fn = kernels.get(kernel, backend)
        start = time.perf_counter()
        work.run(fn, 1)
        seconds[f"{backend}:{kernel}"] = time.perf_counter() - start
print(json.dumps(seconds))
"""


def first_calls(
    dtype: str = "float64", cache_dir: str | None = None, threads: int = 1, kernels=None
) -> dict:
    """Seconds of ``import kernels`` and of the first minibatch of each kernel's backends
    that compile (registry: ``compiles``; keys ``"numba:softmax"``, ``"jax:softmax"``...),
    in a new process whose numba and JAX caches are under ``cache_dir`` (default: their
    own)."""
    kernels = kernels or kernel_names()
    env = {variable: str(threads) for variable in THREAD_VARIABLES}
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = os.path.join(cache_dir, "numba")
        env["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache_dir, "jax")
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # our compiles take < 1 s
    return run_json(
        _PROBE, dtype, ",".join(kernels), ",".join(compiled()), env=env, what="cold-start probe"
    )


def cold_starts(
    dtype: str = "float64",
    threads: int = 1,
    kernels=None,
    warm: bool = True,
    keep: str | None = None,
) -> dict[str, dict]:
    """``{"compile": first calls with an empty cache, "cached": the same again, warm}``
    for ``kernels`` (``cached`` left out unless ``warm``). ``keep``: a directory that
    receives numba's cache of the probes (a ``NUMBA_CACHE_DIR``), so that processes
    using it load what the probes compiled instead of compiling it again."""
    with tempfile.TemporaryDirectory(prefix="kernels-numba-cache-") as cache:
        result = {"compile": first_calls(dtype, cache, threads, kernels)}
        if warm:
            result["cached"] = first_calls(dtype, cache, threads, kernels)
        if keep and os.path.isdir(os.path.join(cache, "numba")):
            shutil.copytree(
                os.path.join(cache, "numba"), keep, dirs_exist_ok=True, copy_function=_copy_new
            )  # what is there already stays
        return result


def _copy_new(source: str, target: str) -> None:
    if not os.path.exists(target):
        shutil.copy2(source, target)
