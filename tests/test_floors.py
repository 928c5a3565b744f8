"""The dependency floors are true: pyproject.toml names the oldest numba and llvmlite
that benchmarks/check_floors.py installs and runs the numba tests with (the script itself
runs here where KERNELS_CHECK_FLOORS=1: it installs packages, about 5 minutes)."""

import os
import re
from pathlib import Path

import pytest

from benchmarks import check_floors

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_names_the_floors_the_script_checks():
    text = (ROOT / "pyproject.toml").read_text()
    for name, version in check_floors.FLOORS.items():
        floor = re.search(rf'"{name}>=([0-9.]+)"', text)
        assert floor, f"pyproject.toml names no floor for {name}"
        assert (
            tuple(map(int, floor.group(1).split(".")))
            == tuple(map(int, version.split(".")))[: len(floor.group(1).split("."))]
        )


@pytest.mark.skipif(
    os.environ.get("KERNELS_CHECK_FLOORS") != "1",
    reason="installs packages: KERNELS_CHECK_FLOORS=1 runs it (about 5 minutes)",
)
def test_the_numba_tests_pass_at_the_floors():
    assert check_floors.main([]) == 0
