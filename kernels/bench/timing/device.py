"""The GPU of ``python -m kernels gpu``: what it is, and its limits measured in the run."""

from __future__ import annotations

from .stopwatch import seconds


def device_limits(rounds: int = 5, n: int = 8192, nbytes: int = 2**30) -> dict:
    """The device's rates, best of ``rounds``: FLOP/s of an n x n matrix product in
    float64 and float32, and a device-to-device copy's bandwidth (read + written)."""
    import cupy

    sync = cupy.cuda.Device().synchronize

    def best(op):
        op()
        sync()
        return min(seconds(op, rounds, sync=lambda result: sync()))

    rates = {}
    for dtype in ("float64", "float32"):
        a = cupy.random.random((n, n)).astype(dtype)
        rates[f"flops_{dtype}"] = 2.0 * n**3 / best(lambda a=a: a @ a)
    src = cupy.ones(nbytes // 8)
    dst = cupy.empty_like(src)
    rates["copy_bandwidth"] = 2.0 * src.nbytes / best(lambda: cupy.copyto(dst, src))
    return rates


def describe() -> dict:
    """The device: name, memory, compute capability and library versions, as far as known."""
    info: dict = {}
    try:
        from numba import cuda

        device = cuda.get_current_device()
        info.update(
            name=str(device.name.decode() if isinstance(device.name, bytes) else device.name),
            compute_capability=list(device.compute_capability),
        )
    except Exception as exc:  # no device, or the simulator
        info["numba"] = f"{type(exc).__name__}: {exc}"
    for name in ("cupy", "torch", "jax", "numba"):
        try:
            module = __import__(name)
            info.setdefault("versions", {})[name] = module.__version__
        except ImportError:
            pass
    try:
        import cupy

        info["memory_gib"] = cupy.cuda.Device().mem_info[1] / 2**30
    except Exception:  # no CuPy
        pass
    return info
