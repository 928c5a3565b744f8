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

from collections.abc import Callable

import numpy as np

from ...ops import tolerance
from ...ops.arrays import foreign, to_host
from ...registry import BackendUnavailable, backends, entry, get, kernel_names, role_of
from .. import settings
from ..settings import DH, effort
from ..specs import SPECS
from ..timing.device import describe, device_limits
from ..timing.stopwatch import extrapolate, seconds
from ..workloads import Workload, outcome
from .placement import Library, library, on_device

SLOW_CALLS = 600  # minibatches timed per epoch at most (then extrapolated)


def time_epoch(work: Workload, fn: Callable, sync: Callable, repeats: int) -> dict:
    """Cold start (the first call on the first minibatch, compilation included), then
    the best of ``repeats`` epochs, each ended by ``sync``, in seconds per epoch of
    60,000 examples: at most ``SLOW_CALLS`` minibatches (or the workload's examples) are
    timed, the rest extrapolated (``extrapolated`` says so)."""
    (cold,) = seconds(lambda: work.run(fn, 1), 1, sync=sync)
    batches = min(work.batches, SLOW_CALLS)
    sync(work.run(fn, batches))  # warm: the timed shapes once, untimed
    runs = seconds(lambda: work.run(fn, batches), repeats, sync=sync)
    epoch = Workload.full_batches(work.K)  # 60,000 examples
    return {
        "seconds": extrapolate(min(runs), batches, epoch),
        "cold_seconds": cold,
        "runs": runs,
        "extrapolated": batches < epoch,
    }


def check_device() -> None:
    """RuntimeError, in one line, unless CuPy (for the device's limits) sees a CUDA GPU:
    no GPU is said first (installing CuPy would not help)."""
    import ctypes.util
    from pathlib import Path

    if not Path("/dev/nvidiactl").exists() and ctypes.util.find_library("cuda") is None:
        raise RuntimeError(
            "finds no CUDA GPU here (no NVIDIA driver: neither /dev/nvidiactl "
            "nor libcuda); it runs on a machine with one (docs/benchmarking.md)"
        )
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(
            f"needs CuPy to measure the device's limits (pip install "
            f"cupy-cuda13x) and a CUDA GPU ({exc})"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver or runtime missing
        raise RuntimeError(f"finds no CUDA GPU ({type(exc).__name__}: {exc})") from None
    if not count:
        raise RuntimeError("finds no CUDA GPU (CuPy counts 0 devices)")


def contenders(kernel: str) -> list[tuple[str, str, Callable]]:
    """``(name, library, factory)`` of what runs on the GPU for ``kernel``: its GPU
    backends (registry), then PyTorch on CUDA (eager, torch.compile) where it is a peer."""
    rows = [
        (b, entry(kernel, b).gpu, lambda b=b: get(kernel, b))
        for b in backends(kernel)
        if entry(kernel, b).gpu
    ]
    return rows + [(name, "torch", factory) for name, factory in SPECS[kernel].gpu_peers.items()]


def gpu_kernels() -> tuple[str, ...]:
    """The kernels whose Spec asks the GPU harness to time them."""
    return tuple(k for k in kernel_names() if SPECS[k].gpu)


def time_gpu(
    kernels=None,
    dtype: str = "float64",
    K: int = settings.K,
    repeats: int = 5,
    sweep: tuple[int, ...] | None = None,
    examples: int | None = None,
    rates: dict | None = None,
    progress: Callable = print,
    dh: int = DH,
) -> dict:
    """Every GPU contender of each kernel (and numba on the CPU) per epoch at K, then the
    sweep over K of mlp_epoch. ``examples``: only the first N training examples (the
    figures extrapolated to the epoch); ``rates``: the device's limits (default: measured
    here, with CuPy). Returns the JSON-ready record."""
    sweep = effort("gpu", False).sizes if sweep is None else sweep
    from ...machine import cpu_model

    kernels = kernels or gpu_kernels()
    rates = rates or device_limits()
    limit_rates = {"peak_flops": rates[f"flops_{dtype}"], "copy_bandwidth": rates["copy_bandwidth"]}
    result = {
        "device": describe(),
        "cpu": cpu_model(),
        "dtype": dtype,
        "K": K,
        "dh": dh,
        "limits": rates,
        "copies": [],
        "rows": [],
        "sweep": [],
        "crossover": None,
    }
    libraries: dict = {}
    for kernel in kernels:
        compiled = role_of(kernel, "compiled")  # numba
        progress(f"{kernel}: {compiled} on the CPU")
        reference = Workload(
            kernel, K=K, dtype=dtype, n=examples, sizes=SPECS[kernel].pick({"dh": dh})
        )
        rows = [
            {
                "kernel": kernel,
                "backend": compiled,
                "where": "cpu",
                **time_epoch(reference, get(kernel, compiled), lambda result: None, repeats),
            }
        ]
        expected = outcome(reference.run(get(kernel, compiled)))
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
            stream = lib_name == "numba" and reference.spec.streams  # out= on the device
            key = (lib_name, stream)
            if key not in placed:
                host = Workload(kernel, K, dtype, examples, stream, SPECS[kernel].pick({"dh": dh}))
                if host.spec.one_call:  # the epoch reads X and y whole, not the blocks
                    host.inputs = {k: v for k, v in host.inputs.items() if k != "batches"}
                placed[key], copied = on_device(host, lib)
                result["copies"].append(copied)
            work = placed[key]
            row.update(time_epoch(work, fn, lib.sync, repeats))
            result_here = work.run(fn)
            row["max_difference"] = difference(
                outcome(to_host(result_here) if foreign(result_here) else result_here), expected
            )
            row["agrees"] = row["max_difference"] <= tolerance(kernel, dtype)["rtol"]
            rows.append(row)
        limit = reference.limit_seconds(limit_rates)
        for row in rows:
            if "seconds" in row:
                row["limit_seconds"] = limit
                row["pct_of_limit"] = (
                    100 * limit / row["seconds"] if row["where"] == "gpu" else None
                )
        result["rows"] += rows
    if sweep:
        result["sweep"] = sweep_k(dtype, sweep, examples, libraries, progress, dh)
        result["crossover"] = crossover(result["sweep"])
    return result


def difference(got: list, expected: list) -> float:
    """The largest |got - expected| / (1 + |expected|) over the arrays of two outcomes."""
    return max(
        float(np.max(np.abs(to_host(g) - e) / (1 + np.abs(e)), initial=0.0))
        for g, e in zip(got, expected)
    )


def sweep_k(
    dtype: str, sizes, examples, libraries: dict, progress: Callable, dh: int = DH
) -> list[dict]:
    """Seconds per mlp_epoch at each K: numba on the CPU, each GPU contender on the GPU
    (at most ``SLOW_CALLS`` minibatches timed, the rest extrapolated)."""
    points = []
    for K in sizes:
        progress(f"sweep: K = {K}")
        host = Workload("mlp_epoch", K=K, dtype=dtype, n=examples, sizes={"dh": dh})
        compiled = role_of("mlp_epoch", "compiled")
        t = time_epoch(host, get("mlp_epoch", compiled), lambda result: None, 3)
        points.append({"K": K, "backend": compiled, "where": "cpu", "seconds": t["seconds"]})
        for name, lib_name, factory in contenders("mlp_epoch"):
            if name == "torch.compile" or not isinstance(libraries.get(lib_name), Library):
                continue  # recompiles per K; or the library is missing
            host.inputs.pop("batches", None)  # the epoch reads X and y whole
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
