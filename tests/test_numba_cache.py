"""numba's cache sees what a compiled function takes from other files
(kernels/ops/numba_cache.py): an edit of an inlined file reaches its callers."""

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("numba")


STALE = """
import numpy as np, kernels
from kernels import mlp
p = mlp.init_params(d=20, dh=9, m=3, seed=0)
x, y = np.random.default_rng(0).random((5, 20)), np.array([0, 1, 2, 0, 1])
print(repr(float(np.abs(kernels.get("mlp_fprop", "numba")(p, x, y).ha).sum())))
"""


def test_an_edit_of_an_inlined_file_reaches_its_callers_cached_code(tmp_path):
    """The epoch's cached code has the microkernel's tile compiled into it: after an edit
    of the tile's file (a copy of the package, alpha doubled in the stores), the numba
    fprop computes with the new tile, not with what the cache held."""

    import kernels

    shutil.copytree(
        os.path.dirname(kernels.__file__),
        tmp_path / "kernels",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def ha_sum() -> float:
        out = subprocess.run(
            [sys.executable, "-c", STALE],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return float(out.stdout.split()[-1])

    before = ha_sum()
    assert ha_sum() == before  # from the cache: the same
    tile = tmp_path / "kernels" / "ops" / "tile.py"
    source = tile.read_text()
    assert source.count("builder.fmul(va, sums[r][v])") == 1
    tile.write_text(
        source.replace(
            "builder.fmul(va, sums[r][v])", "builder.fmul(builder.fadd(va, va), sums[r][v])"
        )
    )
    assert ha_sum() > 1.5 * before  # relu(2 x W1^T + b1), b1 = 0
