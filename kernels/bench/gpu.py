"""``python -m kernels gpu``: the kernels on a CUDA GPU, timed as the CPU report times
them, beside numba on the CPU cores of the same machine.

- The device's limits, measured in the run: a large matrix product's FLOP/s in float64
  and float32 (CuPy, that is cuBLAS) and a device-to-device copy's bandwidth (bytes
  read + written), so each row gets a % of limit as on the CPU.
- The data goes to the device once per kernel and library, outside the timed region;
  that copy is timed and reported on its own line.
- Per kernel, every GPU backend (the registry's ``gpu``: the library whose arrays it
  computes on) and PyTorch on CUDA: the first call (cold start: compilation included),
  then the best of ``repeats`` epochs, each ending with a device synchronisation, so
  the figure is the work and not the launch.
- The sweep over K (mlp_epoch): where the GPU starts to beat the CPU.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..ops import mlp, tolerance
from ..ops.arrays import to_host
from ..registry import BackendUnavailable, backends, entry, get
from .stopwatch import extrapolate
from .workloads import Workload, outcome

GPU_KERNELS = ("gradient_norm", "softmax", "mlp_epoch")
SWEEP_K = (1, 10, 100, 1000, 10_000)
SLOW_CALLS = 600              # minibatches timed per epoch at most (then extrapolated)


@dataclass
class Library:
    """How a library's arrays reach the device and how to wait for it."""

    name: str
    put: Callable             # NumPy array -> array on the device
    sync: Callable            # wait until the device has finished what was launched


def library(name: str) -> Library:
    """The ``Library`` of ``name`` ("numba", "cupy", "torch"); ImportError or
    RuntimeError, saying what is missing, where it cannot run here."""
    if name == "numba":
        from numba import cuda
        if not cuda.is_available():
            raise RuntimeError("numba.cuda finds no CUDA GPU")
        return Library(name, lambda a: cuda.to_device(np.ascontiguousarray(a)), cuda.synchronize)
    if name == "cupy":
        import cupy
        return Library(name, cupy.asarray, lambda: cupy.cuda.Device().synchronize())
    if name == "torch":
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("torch.cuda finds no CUDA GPU")
        return Library(name, lambda a: torch.as_tensor(np.asarray(a), device="cuda"),
                       torch.cuda.synchronize)
    raise ValueError(f"no GPU array library {name!r}; known: numba, cupy, torch")


def place(value, put: Callable):
    """``value`` with every NumPy array in it (lists, tuples, dicts, a Forward) put on the
    device; the parameters (Params) stay NumPy, as the kernels take them."""
    if isinstance(value, np.ndarray):
        return put(value)
    if isinstance(value, (list, tuple)):
        return type(value)(place(v, put) for v in value)
    if isinstance(value, dict):
        return {k: place(v, put) for k, v in value.items()}
    if isinstance(value, mlp.Forward):
        return mlp.Forward(*(put(a) for a in (value.ha, value.hs, value.oa, value.os)), value.loss)
    return value


def on_device(work: Workload, lib: Library) -> tuple[Workload, dict]:
    """A copy of ``work`` whose inputs (and streaming output) live on the device, and the
    copy's record: bytes, seconds (synchronised), GB/s."""
    nbytes = sum(a.nbytes for a in _arrays(work.inputs)) + (work.out.nbytes if work.out is not None else 0)
    lib.sync()
    start = time.perf_counter()
    placed = copy.copy(work)
    placed.inputs = place(work.inputs, lib.put)
    placed.out = None if work.out is None else lib.put(work.out)
    lib.sync()
    seconds = time.perf_counter() - start
    return placed, {"kernel": work.kernel, "library": lib.name, "bytes": nbytes,
                    "seconds": seconds, "gb_per_s": nbytes / seconds / 1e9}


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)
    elif isinstance(value, mlp.Forward):
        yield from (value.ha, value.hs, value.oa, value.os)


def time_epoch(work: Workload, fn: Callable, sync: Callable, repeats: int) -> dict:
    """Cold start (the first call on the first minibatch, compilation included), then
    the best of ``repeats`` epochs, each ended by ``sync``; at most ``SLOW_CALLS``
    minibatches are timed, the rest extrapolated (``extrapolated`` says so)."""
    start = time.perf_counter()
    work.run(fn, 1)
    sync()
    cold = time.perf_counter() - start
    batches = work.batches if work.spec.one_call else min(work.batches, SLOW_CALLS)
    if work.spec.one_call and work.batches > SLOW_CALLS:
        batches = SLOW_CALLS                   # a slice of the epoch, in one call
    work.run(fn, batches)                      # warm: the timed shapes once, untimed
    sync()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        work.run(fn, batches)
        sync()
        runs.append(time.perf_counter() - start)
    return {"seconds": extrapolate(min(runs), batches, work.batches), "cold_seconds": cold,
            "runs": runs, "extrapolated": batches < work.batches}


def device_limits(rounds: int = 5, n: int = 8192, nbytes: int = 2 ** 30) -> dict:
    """The device's rates, best of ``rounds``: FLOP/s of an n x n matrix product in
    float64 and float32, and a device-to-device copy's bandwidth (read + written)."""
    import cupy
    sync = cupy.cuda.Device().synchronize

    def best(op):
        op()
        sync()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            op()
            sync()
            times.append(time.perf_counter() - start)
        return min(times)

    rates = {}
    for dtype in ("float64", "float32"):
        a = cupy.random.random((n, n)).astype(dtype)
        rates[f"flops_{dtype}"] = 2.0 * n ** 3 / best(lambda: a @ a)
    src = cupy.ones(nbytes // 8)
    dst = cupy.empty_like(src)
    rates["copy_bandwidth"] = 2.0 * src.nbytes / best(lambda: cupy.copyto(dst, src))
    return rates


def contenders(kernel: str) -> list[tuple[str, str, Callable]]:
    """``(name, library, factory)`` of what runs on the GPU for ``kernel``: its GPU
    backends (registry), then PyTorch on CUDA (eager, torch.compile) where it is a peer."""
    rows = [(b, entry(kernel, b).gpu, lambda b=b: get(kernel, b))
            for b in backends(kernel) if entry(kernel, b).gpu]
    from . import peers
    if kernel == "softmax":
        rows.append(("torch", "torch", peers.torch_softmax))
    if kernel == "mlp_epoch":
        rows.append(("torch", "torch", lambda: peers.torch_mlp_epoch(device="cuda")))
        rows.append(("torch.compile", "torch",
                     lambda: peers.torch_mlp_epoch(compiled=True, device="cuda")))
    return rows


def run(kernels=GPU_KERNELS, dtype: str = "float32", K: int = 100, repeats: int = 5,
        sweep=SWEEP_K, examples: int | None = None, rates: dict | None = None,
        progress: Callable = print) -> dict:
    """Every GPU contender of each kernel (and numba on the CPU) per epoch at K, then the
    sweep over K of mlp_epoch. ``examples``: only the first N training examples (the
    figures extrapolated to the epoch); ``rates``: the device's limits (default: measured
    here, with CuPy). Returns the JSON-ready record."""
    from ..record import cpu_model
    rates = rates or device_limits()
    limit_rates = {"peak_flops": rates[f"flops_{dtype}"], "copy_bandwidth": rates["copy_bandwidth"]}
    result = {"device": describe(), "cpu": cpu_model(), "dtype": dtype, "K": K,
              "limits": rates, "copies": [], "rows": [], "sweep": []}
    libraries: dict = {}
    for kernel in kernels:
        progress(f"{kernel}: numba on the CPU")
        reference = Workload(kernel, K=K, dtype=dtype, n=examples)
        rows = [{"kernel": kernel, "backend": "numba", "where": "cpu",
                 **time_epoch(reference, get(kernel, "numba"), lambda: None, repeats)}]
        expected = outcome(reference.run(get(kernel, "numba")))
        placed: dict = {}
        for name, lib_name, factory in contenders(kernel):
            progress(f"{kernel}: {name} on the GPU")
            row = {"kernel": kernel, "backend": name, "where": "gpu", "library": lib_name}
            try:
                lib = libraries.get(lib_name) or libraries.setdefault(lib_name, library(lib_name))
                fn = factory()
            except (ImportError, RuntimeError, BackendUnavailable) as exc:
                rows.append({**row, "skipped": f"{type(exc).__name__}: {exc}"})
                continue
            stream = lib_name == "numba" and reference.spec.streams   # out= on the device
            key = (lib_name, stream)
            if key not in placed:
                host = Workload(kernel, K=K, dtype=dtype, n=examples, stream=stream)
                placed[key], copied = on_device(host, lib)
                result["copies"].append(copied)
            work = placed[key]
            row.update(time_epoch(work, fn, lib.sync, repeats))
            row["max_difference"] = difference(outcome(work.run(fn)), expected)
            row["agrees"] = row["max_difference"] <= tolerance(kernel, dtype)["rtol"]
            rows.append(row)
        limit = reference.limit_seconds(limit_rates)
        for row in rows:
            if "seconds" in row:
                row["limit_seconds"] = limit
                row["pct_of_limit"] = 100 * limit / row["seconds"] if row["where"] == "gpu" else None
        result["rows"] += rows
    if sweep:
        result["sweep"] = sweep_k(dtype, sweep, examples, libraries, progress)
        result["crossover"] = crossover(result["sweep"])
    return result


def difference(got: list, expected: list) -> float:
    """The largest |got - expected| / (1 + |expected|) over the arrays of two outcomes."""
    return max(float(np.max(np.abs(to_host(g) - e) / (1 + np.abs(e)), initial=0.0))
               for g, e in zip(got, expected))


def sweep_k(dtype: str, sizes, examples, libraries: dict, progress: Callable) -> list[dict]:
    """Seconds per mlp_epoch at each K: numba on the CPU, each GPU contender on the GPU
    (at most ``SLOW_CALLS`` minibatches timed, the rest extrapolated)."""
    points = []
    for K in sizes:
        progress(f"sweep: K = {K}")
        host = Workload("mlp_epoch", K=K, dtype=dtype, n=examples)
        t = time_epoch(host, get("mlp_epoch", "numba"), lambda: None, 3)
        points.append({"K": K, "backend": "numba", "where": "cpu", "seconds": t["seconds"]})
        for name, lib_name, factory in contenders("mlp_epoch"):
            if name == "torch.compile" or not isinstance(libraries.get(lib_name), Library):
                continue                   # recompiles per K; or the library is missing
            work, _ = on_device(host, libraries[lib_name])
            t = time_epoch(work, factory(), libraries[lib_name].sync, 3)
            points.append({"K": K, "backend": name, "where": "gpu", "seconds": t["seconds"]})
    return points


def crossover(points: list[dict]) -> int | None:
    """The smallest K from which the fastest GPU contender beats numba on the CPU at
    every larger K swept; None if it never does."""
    by_k: dict = {}
    for p in points:
        by_k.setdefault(p["K"], {}).setdefault(p["where"], []).append(p["seconds"])
    wins = [(K, min(v.get("gpu", [np.inf])) < min(v["cpu"])) for K, v in sorted(by_k.items())]
    first = None
    for K, win in wins:
        first = (first or K) if win else None
    return first


def describe() -> dict:
    """The device: name, memory, compute capability and library versions, as far as known."""
    info: dict = {}
    try:
        from numba import cuda
        device = cuda.get_current_device()
        info.update(name=str(device.name.decode() if isinstance(device.name, bytes) else device.name),
                    compute_capability=list(device.compute_capability))
    except Exception as exc:                     # no device, or the simulator
        info["numba"] = f"{type(exc).__name__}: {exc}"
    for name in ("cupy", "torch", "jax", "numba"):
        try:
            module = __import__(name)
            info.setdefault("versions", {})[name] = module.__version__
        except ImportError:
            pass
    try:
        import cupy
        info["memory_gib"] = cupy.cuda.Device().mem_info[1] / 2 ** 30
    except Exception:                            # no CuPy
        pass
    return info
