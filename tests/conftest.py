"""Shared fixtures: real Fashion-MNIST and the registry's backends as parameters."""

import itertools
import os
import subprocess
import sys
import textwrap

import pytest

import kernels
from kernels.data import load_fashion_mnist

# Without a GPU, numba's CUDA simulator runs the numba-cuda backends (tests/test_gpu.py);
# on a GPU, run the tests with NUMBA_ENABLE_CUDASIM=0 (benchmarks/gpu_run.sh does).
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
SIMULATED = os.environ["NUMBA_ENABLE_CUDASIM"] == "1"


def tol(dtype, kernel="softmax"):
    """The tolerances of docs/design.md, section 5 (one table, kernels.tolerance)."""
    return kernels.tolerance(kernel, dtype)


def one_line_exit(argv, start=""):
    """Run the command line and check it stops with exit status 2 (an error, as argparse
    gives) and one line on stderr starting with ``start`` (no traceback); returns it."""
    import contextlib
    import io

    from kernels.cli import main

    err = io.StringIO()
    with pytest.raises(SystemExit) as stop, contextlib.redirect_stderr(err):
        main(argv)
    message = err.getvalue().rstrip("\n")
    assert stop.value.code == 2, (stop.value.code, message)
    assert message.startswith(start), message
    assert "\n" not in message and "Traceback" not in message
    return message


def runnable(kernel, backend):
    """The backend's callable, or a skip that says why it cannot run here."""
    if SIMULATED and not kernels.registry.entry(kernel, backend).cpu:
        pytest.skip(
            "numba's CUDA simulator runs each GPU thread in Python: "
            "tests/test_gpu.py checks this backend on small inputs; on a GPU "
            "(NUMBA_ENABLE_CUDASIM=0) every test runs it"
        )
    try:
        return kernels.get(kernel, backend)
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))


def backend_params(kernel):
    """Every registered backend of ``kernel``: a new one is tested without an edit."""
    return pytest.mark.parametrize("backend", kernels.backends(kernel))


def pair_params(kernel):
    """Every unordered pair of registered backends of ``kernel``."""
    return pytest.mark.parametrize(
        "first,second", list(itertools.combinations(kernels.backends(kernel), 2))
    )


@pytest.fixture(scope="session")
def train():
    return load_fashion_mnist("train")


@pytest.fixture(scope="session")
def test_split():
    return load_fashion_mnist("test")


@pytest.fixture(autouse=True)
def no_user_choices(monkeypatch, tmp_path_factory):
    """Tests never see this machine's autotune record or a KERNELS_BACKEND of the shell."""
    from kernels import record

    path = tmp_path_factory.mktemp("cache") / "autotune.json"
    monkeypatch.setattr(record, "record_path", lambda: path)
    monkeypatch.delenv("KERNELS_BACKEND", raising=False)
    record.forget()
    yield
    record.forget()


def run_python(code, env=None, timeout=600):
    """Run ``code`` (dedented) in a fresh interpreter with ``env`` added; it must succeed.
    Returns (stdout, stderr)."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr


def cuda_backend(kernel):
    """The numba-cuda backend (on a GPU, or simulated), or a skip saying why it cannot run."""
    try:
        return kernels.get(kernel, "numba-cuda")
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))
