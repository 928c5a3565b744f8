"""The gradient norm's differences in explicit vectors (kernels/ops/vector_stencil.py) at
every vector width a register block may have, not only this CPU's: bit for bit the
scalar definition, on every run length (the masked last vector), at any offset, for NaN
and infinities; nothing outside the run is written."""

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernels.ops.vector_stencil import make_differences  # noqa: E402


def _runner(bits):
    differences = make_differences(bits)

    @numba.njit
    def run(f, o, fi, oi, count, up, down, a, half):
        differences(f, o, fi, oi, count, up, down, a, half)

    return run


def _expected(f, fi, count, up, down, a, half):
    p = fi + np.arange(count)
    d_row = (f[p + up] - f[p - down]) * a
    d_col = (f[p + 1] - f[p - 1]) * half
    return d_row * d_row + d_col * d_col


@pytest.mark.parametrize("bits", [128, 256, 512])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_gives_the_scalar_differences_bit_for_bit(bits, dtype):
    rng = np.random.default_rng(bits)
    f = rng.standard_normal(400).astype(dtype) * 100
    f[[17, 40, 41, 90]] = [np.nan, np.inf, -np.inf, 0.0]
    run, lanes = _runner(bits), bits // (8 * np.dtype(dtype).itemsize)
    half, one = dtype(0.5), dtype(1.0)
    for count in [*range(0, 2 * lanes + 2), 300]:
        for fi, oi, up, down, a in [
            (30, 5, 28, 28, half),
            (29, 0, 28, 0, one),
            (60, 3, 0, 28, one),
        ]:
            o = np.full(count + 10, -7.0, dtype)
            run(f, o, fi, oi, count, up, down, a, half)
            want = _expected(f, fi, count, up, down, a, half)
            np.testing.assert_array_equal(o[oi : oi + count], want)
            assert (o[:oi] == -7).all() and (o[oi + count :] == -7).all()  # nothing else
