"""The exponential in explicit vectors (kernels/ops/vector_exp.py) at every vector width a
register block may have, not only this CPU's: lane for lane what the scalar
``exp_nonpositive`` gives, on every tail length, for NaN, -inf, zeros and underflow."""

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernels.ops.numba_support import exp_nonpositive  # noqa: E402
from kernels.ops.vector_exp import make_exp  # noqa: E402


# as the backends compile it: multiply-adds fused (the vector code uses FMAs throughout)
@numba.njit(fastmath={"contract"})
def _scalar(flat):
    for k in range(flat.size):
        flat[k] = exp_nonpositive(flat[k])


def _vectors(bits):
    exp_vectors, lanes = make_exp(bits), bits // 64

    @numba.njit(fastmath={"contract"})
    def run(flat):
        whole = flat.size // lanes
        exp_vectors(flat, whole)
        for k in range(whole * lanes, flat.size):
            flat[k] = exp_nonpositive(flat[k])

    return run


SPECIAL = [np.nan, -np.inf, 0.0, -0.0, -1e-300, -700.0, -708.5, -745.1, -745.5, -746.0, -1e300]


@pytest.mark.parametrize("bits", [128, 256, 512])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_gives_the_scalar_exponential_lane_for_lane(bits, dtype):
    rng = np.random.default_rng(bits)
    x = np.concatenate([SPECIAL, -rng.exponential(3.0, 3000), rng.uniform(-750.0, 0.0, 3000)])
    x = np.maximum(x, np.finfo(dtype).min).astype(dtype)  # NaN stays
    run = _vectors(bits)
    for n in [*range(0, 2 * bits // 64 + 2), len(x)]:  # every tail, and a long array
        expected, got = x[:n].copy(), x[:n].copy()
        _scalar(expected)
        run(got)
        np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[0]) and got[1] == 0.0 and got[2] == got[3] == 1.0
