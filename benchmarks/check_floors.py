"""Do the oldest versions pyproject.toml allows run the numba backends? A fresh virtual
environment with exactly ``FLOORS`` (and what the package needs besides), then the tests
of every numba kernel: the microkernel's IR uses opaque pointers, which llvmlite parses
from 0.45 on (numba 0.61 with llvmlite 0.44 fails to parse it).

    python -m benchmarks.check_floors [--keep DIR]

About 5 minutes (the install, then the tests). tests/test_floors.py checks that
pyproject.toml names these floors, and runs this script where KERNELS_CHECK_FLOORS=1.
Measured on the Intel Xeon guest, 2026-12-06: 758 passed with numba 0.62.0 and
llvmlite 0.45.0."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

FLOORS = {"numba": "0.62.0", "llvmlite": "0.45.0"}
ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/test_microkernel.py",
    "tests/test_blocking.py",
    "tests/test_blocks.py",
    "tests/test_stores.py",
    "tests/test_numba_cache.py",
    "tests/test_softmax.py",
    "tests/test_gradient_norm.py",
    "tests/test_mlp.py",
    "tests/test_mlp_epoch.py",
    "tests/test_vector_exp.py",
    "tests/test_vector_stencil.py",
]


def run(folder: Path) -> int:
    """Install the floors and the package into a venv in ``folder``; run ``TESTS``."""
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pins = [f"{name}=={version}" for name, version in FLOORS.items()]
    subprocess.run([python, "-m", "pip", "install", "-q", *pins, "-e", f"{ROOT}[test]"], check=True)
    env_cache = {"NUMBA_CACHE_DIR": str(folder / "numba-cache")}
    import os

    return subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=ROOT,
        env={**os.environ, **env_cache},
    ).returncode


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", metavar="DIR", help="build the environment here and keep it")
    args = p.parse_args(argv)
    if args.keep:
        return run(Path(args.keep))
    with tempfile.TemporaryDirectory(prefix="kernels-floors-") as folder:
        return run(Path(folder))


if __name__ == "__main__":
    sys.exit(main())
