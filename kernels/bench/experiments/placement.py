"""Where ``python -m kernels gpu`` puts an epoch's data: each GPU array library (numba's
device arrays, CuPy, jax), and a workload's inputs copied onto its device once, outside
the timed region (the copy timed on its own)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...ops import mlp
from ..timing.stopwatch import seconds
from ..workloads import Workload


@dataclass
class Library:
    """How a library's arrays reach the device and how to wait for it."""

    name: str
    put: Callable  # NumPy array -> array on the device
    sync: Callable  # sync(last result): wait until the device has finished


def library(name: str) -> Library:
    """The ``Library`` of ``name`` ("numba", "cupy", "torch", "jax"); ImportError or
    RuntimeError, saying what is missing, where it cannot run here."""
    if name == "numba":
        from numba import cuda

        if not cuda.is_available():
            raise RuntimeError("numba.cuda finds no CUDA GPU")
        return Library(
            name,
            lambda a: cuda.to_device(np.ascontiguousarray(a)),
            lambda result=None: cuda.synchronize(),
        )
    if name == "cupy":
        import cupy

        return Library(name, cupy.asarray, lambda result=None: cupy.cuda.Device().synchronize())
    if name == "torch":
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch.cuda finds no CUDA GPU")
        return Library(
            name,
            lambda a: torch.as_tensor(np.asarray(a), device="cuda"),
            lambda result=None: torch.cuda.synchronize(),
        )
    if name == "jax":
        import jax

        if jax.default_backend() != "gpu":
            raise RuntimeError(f"jax runs on {jax.default_backend()}, not on a GPU")

        def put(a):
            with jax.enable_x64(True):  # float64 and int64 stay 64-bit
                return jax.device_put(a)

        # one stream: the last result ready means every launch before it is done
        return Library(name, put, lambda result=None: jax.block_until_ready(result))
    raise ValueError(f"no GPU array library {name!r}; known: numba, cupy, torch, jax")


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
    nbytes = sum(a.nbytes for a in _leaves(work.inputs)) + (
        work.out.nbytes if work.out is not None else 0
    )
    lib.sync()
    placed = copy.copy(work)

    def put():
        placed.inputs = place(work.inputs, lib.put)
        placed.out = None if work.out is None else lib.put(work.out)
        return list(_leaves(placed.inputs))

    (took,) = seconds(put, 1, sync=lib.sync)  # once: the copy the run makes
    return placed, {
        "kernel": work.kernel,
        "library": lib.name,
        "bytes": nbytes,
        "seconds": took,
        "gb_per_s": nbytes / took / 1e9,
    }


def _leaves(value):
    """The arrays in inputs (lists, tuples, dicts, a Forward), wherever they live; not the
    parameters or plain numbers."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, mlp.Forward):
        yield from (value.ha, value.hs, value.oa, value.os)
    elif value is not None and not isinstance(value, (mlp.Params, int, float, str)):
        yield value
