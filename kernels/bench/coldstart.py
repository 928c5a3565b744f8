"""Cold start: ``import kernels`` time, and the first call of each numba kernel in a
fresh process, with an empty cache (a fresh compile) and with a warm one (cache=True).
Each measurement runs in its own subprocess, so nothing is already compiled."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

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
from kernels.bench.workloads import Workload
for kernel in kernels.KERNELS:
    if "numba" not in kernels.available(kernel):
        continue
    work = Workload(kernel, dtype=sys.argv[1], n=100)       # data loading is not timed
    fn = kernels.get(kernel, "numba")
    start = time.perf_counter()
    work.run(fn, 1)
    seconds[kernel] = time.perf_counter() - start
print(json.dumps(seconds))
"""


def first_calls(dtype: str = "float64", cache_dir: str | None = None, threads: int = 1) -> dict:
    """Seconds of ``import kernels`` and of each numba kernel's first minibatch, in a new
    process whose numba cache is ``cache_dir`` (default: numba's own)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", _PROBE, dtype], capture_output=True, text=True,
                         env=env, timeout=600)
    if out.returncode:
        raise RuntimeError(f"cold-start probe failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])


def measure(dtype: str = "float64", threads: int = 1) -> dict[str, dict]:
    """``{"compile": first calls with an empty cache, "cached": the same again, warm}``."""
    with tempfile.TemporaryDirectory(prefix="kernels-numba-cache-") as cache:
        return {"compile": first_calls(dtype, cache, threads),
                "cached": first_calls(dtype, cache, threads)}
