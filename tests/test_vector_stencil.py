"""The gradient norm of a run of images in explicit vectors (kernels/ops/vector_stencil.py)
at every vector width a register block may have, not only this CPU's, with ordinary and
non-temporal stores: bit for bit the definition (numpy.gradient) on every image shape
down to 2 x 2, on runs of any images into an output at any offset, for NaN and
infinities; nothing outside the run is read into the result or written."""

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernels.ops.stores import fence  # noqa: E402
from kernels.ops.vector_stencil import edge_tables, make_images  # noqa: E402


def _runner(bits, nontemporal):
    images = make_images(bits, nontemporal)

    @numba.njit
    def run(f, o, first, count, h, w, half, rows, cols):
        images(f, o, first, count, h, w, half, rows, cols)
        fence()

    return run


def _definition(u):
    d_row, d_col = np.gradient(u, axis=-2), np.gradient(u, axis=-1)
    return d_row * d_row + d_col * d_col


# 2 x 2 and 2-wide images hold several images per vector; 28 x 28 and 17 x 33 fold the
# rows table; 3 x 40 and 40 x 3 put every row or every column on an edge
SHAPES = [(2, 2), (2, 3), (3, 2), (2, 17), (3, 40), (40, 3), (5, 7), (9, 9), (17, 33), (28, 28)]


@pytest.mark.parametrize("nontemporal", [False, True])
@pytest.mark.parametrize("bits", [128, 256, 512])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_width_gives_the_definition_bit_for_bit(bits, dtype, nontemporal):
    rng = np.random.default_rng(bits)
    run, lanes, N = _runner(bits, nontemporal), bits // (8 * np.dtype(dtype).itemsize), 5
    for h, w in SHAPES:
        u = (rng.standard_normal((N, h, w)) * 100).astype(dtype)
        u.flat[[1, 5, 6]] = [np.nan, np.inf, -np.inf]
        want, size = _definition(u), h * w
        rows, cols = edge_tables(h, w, lanes)
        for first, last in [(0, N), (1, 4), (3, 4)]:
            for offset in (0, 1, 3, lanes + 1):  # o's start against a vector's boundary
                spare = np.full(N * size + 2 * lanes + 2, -7.0, dtype)
                o = spare[offset : offset + N * size]
                run(
                    u.reshape(-1),
                    o,
                    first * size,
                    (last - first) * size,
                    h,
                    w,
                    dtype(0.5),
                    rows,
                    cols,
                )
                got = o.reshape(u.shape)
                np.testing.assert_array_equal(got[first:last], want[first:last])
                assert (got[:first] == -7).all() and (got[last:] == -7).all()
                assert (spare[:offset] == -7).all() and (spare[offset + N * size :] == -7).all()


def test_the_edge_tables_fold_far_from_the_edges_and_stay_small():
    rows, cols = edge_tables(512, 512, 16)
    assert rows.shape == (2 * (512 + 16) + 1, 3) and cols.shape == (512, 3)
    assert rows.dtype == np.uint16 and edge_tables(28, 28, 8)[0].dtype == np.uint8
    # the shared last entry: a vector far from the first and last rows, no edge lane
    assert list(rows[-1]) == [0xFFFF, 0xFFFF, 0]
