"""The machine's rates behind the physical limits (kernels/bench/timing): the FMA loop
runs what it counts, over every shape, and its best is the machine's rate."""

import numpy as np
import pytest

pytest.importorskip("numba")
from kernels.bench.timing import fma_loop, limits  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bits, chains", fma_loop.SHAPES)
def test_the_fma_loop_runs_every_step_of_every_chain(dtype, bits, chains):
    """Each chain runs c = c x + x n times from c = x: the sum over chains and lanes is
    known, so a loop that skipped or merged steps would give another figure."""
    x, n = 0.5, 7
    c = x
    for _ in range(n):
        c = c * x + x
    lanes = bits // (8 * np.dtype(dtype).itemsize)
    assert fma_loop.fma_loop(bits, chains)(dtype(x), n) == pytest.approx(
        lanes * chains * c, rel=1e-6
    )
    assert fma_loop.fma_flop(dtype, bits, chains, 10) == 2 * lanes * chains * 10


def test_the_fma_rate_is_the_best_shape_not_one_block(monkeypatch):
    """A slow shape cannot lower the rate: the best over SHAPES is kept."""
    timed = []
    monkeypatch.setattr(
        limits, "_median_seconds", lambda fn, rounds: timed.append(1) or 1.0 + len(timed)
    )
    rate = limits.fma_flops("float64", steps=100, rounds=1)
    best = max(
        fma_loop.fma_flop("float64", b, c, 100) / (2.0 + i)
        for i, (b, c) in enumerate(fma_loop.SHAPES)
    )
    assert len(timed) == len(fma_loop.SHAPES) and rate == pytest.approx(best)
