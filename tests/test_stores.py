"""Non-temporal stores (kernels/ops/stores.py): the copy is exact at every alignment and
length, and the streaming gradient_norm equals numpy's with them."""

import numpy as np
import pytest

pytest.importorskip("numba")
import numba  # noqa: E402

import kernels  # noqa: E402
from kernels.ops import stores  # noqa: E402


@numba.njit
def _copy(dst, src):
    stores.stream_copy(dst, src)
    stores.fence()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_stream_copy_is_exact_at_every_alignment_and_length(dtype):
    rng = np.random.default_rng(0)
    big = np.zeros(600, dtype)
    for offset in range(0, 17):
        for n in (0, 1, 7, 15, 16, 17, 63, 64, 65, 200):
            src = rng.standard_normal(n).astype(dtype)
            big[:] = -1
            _copy(big[offset : offset + n], src)
            np.testing.assert_array_equal(big[offset : offset + n], src)
            assert (big[:offset] == -1).all() and (big[offset + n :] == -1).all()


@pytest.mark.parametrize("backend", ["numba", "numba-serial"])
def test_gradient_norm_with_non_temporal_stores_equals_numpy(backend, monkeypatch):
    monkeypatch.setenv("KERNELS_STORES", "nontemporal")
    images = np.random.default_rng(1).random((37, 28, 28))
    whole = np.full((50, 28, 28), np.nan)
    out = whole[5:42]
    assert stores.use_stream_stores(out)
    kernels.get("gradient_norm", backend)(images, out=out)
    np.testing.assert_allclose(out, kernels.get("gradient_norm", "numpy")(images), rtol=1e-12)
    assert np.isnan(whole[:5]).all() and np.isnan(whole[42:]).all()


def test_a_store_kind_that_does_not_exist_is_refused(monkeypatch):
    monkeypatch.setenv("KERNELS_STORES", "streaming")
    with pytest.raises(ValueError, match="nontemporal or ordinary"):
        kernels.get("gradient_norm", "numba")(np.ones((2, 4, 4)))
