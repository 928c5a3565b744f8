"""The GPU harness (python -m kernels gpu) on the simulator, and the prepared GPU run where
a GPU is missing."""

import os
import subprocess
import sys

import pytest
from conftest import cuda_backend

import kernels

NUMBA_CUDA = pytest.mark.skipif(
    not any("numba" == n for n in kernels.available("softmax")), reason="numba cannot run here"
)


RATES = {"flops_float64": 5e13, "flops_float32": 6e13, "copy_bandwidth": 4e12}


def test_gpu_harness_times_places_checks_and_sweeps(tmp_path):
    cuda_backend("softmax")
    from kernels.bench.experiments import gpu
    from kernels.bench.renderers import gpu_render

    result = gpu.time_gpu(
        ("softmax", "mlp_epoch"),
        "float64",
        K=5,
        repeats=1,
        sweep=(5, 10),
        examples=10,
        rates=RATES,
        progress=lambda line: None,
        dh=2,
    )
    rows = {(r["kernel"], r["backend"]): r for r in result["rows"]}
    for kernel in ("softmax", "mlp_epoch"):
        assert rows[(kernel, "numba")]["where"] == "cpu"
        timed = rows[(kernel, "numba-cuda")]
        assert timed["where"] == "gpu" and timed["agrees"] and timed["seconds"] > 0
        assert timed["pct_of_limit"] == pytest.approx(
            100 * timed["limit_seconds"] / timed["seconds"]
        )
        # a library without a GPU here (CuPy, PyTorch on CUDA, jax on a GPU): said, not timed
        assert "skipped" in rows[(kernel, "array-api")]
    # the copies to the device: on their own line, the bytes of what the kernel reads
    copies = {(c["kernel"], c["library"]): c for c in result["copies"]}
    assert copies[("mlp_epoch", "numba")]["bytes"] == 10 * 784 * 8 + 10 * 8
    assert {(p["K"], p["backend"]) for p in result["sweep"]} == {
        (5, "numba"),
        (5, "numba-cuda"),
        (10, "numba"),
        (10, "numba-cuda"),
    }
    printed = [*gpu_render.notes(result)]
    assert any("copy to the device" in line for line in printed)
    files = gpu_render.save(result, tmp_path)
    assert sorted(f.name for f in files) == ["gpu-float64.json", "gpu-float64.png"]


def test_crossover_is_where_the_gpu_wins_from_then_on():
    from kernels.bench.experiments.gpu import crossover

    point = lambda K, where, s: {"K": K, "where": where, "backend": "b", "seconds": s}
    cpu = [point(K, "cpu", 1.0) for K in (1, 10, 100, 1000)]
    gpu = [
        point(1, "gpu", 3.0),
        point(10, "gpu", 0.9),
        point(100, "gpu", 1.1),
        point(1000, "gpu", 0.2),
    ]
    assert crossover(cpu + gpu) == 1000  # a win at 10 lost again at 100 does not count
    assert crossover(cpu + [point(K, "gpu", 2.0) for K in (1, 10, 100, 1000)]) is None
    assert crossover(cpu + [point(K, "gpu", 0.5) for K in (1, 10, 100, 1000)]) == 1


def test_gpu_command_without_a_gpu_stops_in_one_line(monkeypatch):
    """No GPU is said first, whether or not CuPy is installed (installing it would not help)."""
    import ctypes.util
    import pathlib

    from conftest import one_line_exit

    pytest.importorskip("numba")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    real_exists = pathlib.Path.exists
    monkeypatch.setattr(
        pathlib.Path,
        "exists",
        lambda self: False if str(self) == "/dev/nvidiactl" else real_exists(self),
    )
    one_line_exit(["gpu"], "kernels gpu: finds no CUDA GPU here")
    one_line_exit(["gpu", "--kernels", "mlp_fprop"], "kernels gpu: unknown kernel(s) mlp_fprop")


@pytest.mark.skipif(os.environ.get("KERNELS_GPU") == "1", reason="a GPU is present")
@pytest.mark.parametrize("driver", [False, True])
def test_gpu_run_stops_with_one_clear_line_where_a_gpu_is_missing(tmp_path, driver):
    path = os.environ["PATH"]
    if driver:  # nvidia-smi answers, but no CUDA library does
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'NVIDIA H200, 143771 MiB'\n")
        (fake / "nvidia-smi").chmod(0o755)
        path = f"{fake}:{path}"
    else:
        path = ":".join(d for d in path.split(":") if not os.path.exists(f"{d}/nvidia-smi"))
    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "gpu_run.sh")
    out = subprocess.run(
        ["bash", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": path, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable},
    )
    assert out.returncode == 2
    stops = [line for line in out.stdout.splitlines() if line.startswith("gpu_run: STOPPED:")]
    assert len(stops) == 1
    assert ("library" in stops[0]) == driver and ("nvidia-smi" in stops[0]) != driver
    assert stops[0] in (tmp_path / "out" / "log.txt").read_text()  # the log says it too
