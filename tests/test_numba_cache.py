"""numba's cache sees what a compiled function takes from other files
(kernels/ops/numba_cache.py): an edit of an inlined file reaches its callers, and the
callers of its callers."""

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("numba")


FPROP = """
import numpy as np, kernels
from kernels import mlp
p = mlp.init_params(d=20, dh=9, m=3, seed=0)
x, y = np.random.default_rng(0).random((5, 20)), np.array([0, 1, 2, 0, 1])
print(repr(float(np.abs(kernels.get("mlp_fprop", "numba")(p, x, y).ha).sum())))
"""

GRADIENT = """
import numpy as np, kernels
u = np.random.default_rng(0).random((3, 28, 28))
print(repr(float(kernels.get("gradient_norm", "numba")(u).sum())))
"""


def _edit_the_tile(tmp_path, code: str, old: str, new: str) -> tuple[float, float]:
    """In a copy of the package with a cache of its own, the number ``code`` prints from
    the cached code, then after ``old`` in the tile's file is replaced with ``new``."""
    import kernels

    shutil.copytree(
        os.path.dirname(kernels.__file__),
        tmp_path / "kernels",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def printed() -> float:
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return float(out.stdout.split()[-1])

    before = printed()
    assert printed() == before  # from the cache: the same
    tile = tmp_path / "kernels" / "ops" / "tile.py"
    source = tile.read_text()
    assert source.count(old) == 1
    tile.write_text(source.replace(old, new))
    return before, printed()


def test_an_edit_of_an_inlined_file_reaches_its_callers_cached_code(tmp_path):
    """The epoch's cached code has the microkernel's tile compiled into it: after an edit
    of the tile's file (a copy of the package, alpha doubled in the stores), the numba
    fprop computes with the new tile, not with what the cache held."""
    alpha = "builder.fmul(va, sums[r][v])"
    before, after = _edit_the_tile(
        tmp_path, FPROP, alpha, "builder.fmul(builder.fadd(va, va), sums[r][v])"
    )
    assert after > 1.5 * before  # relu(2 x W1^T + b1), b1 = 0


def test_an_edit_reaches_the_callers_of_the_callers(tmp_path):
    """gradient_norm's numba code inlines vector_stencil, which inlines the tile's vector
    stores: after an edit of the tile's file alone (each whole vector stored twice its
    value), gradient_norm's cached code is compiled again."""
    store = "self.builder.store(value, self.pointer(address), align=align)"
    doubled = store.replace("(value,", "(self.builder.fadd(value, value),")
    before, after = _edit_the_tile(tmp_path, GRADIENT, store, doubled)
    assert after > 1.5 * before  # every whole vector, most of each image, doubled
