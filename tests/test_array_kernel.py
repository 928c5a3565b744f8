"""``ArrayKernel`` (kernels/ops): one kernel's decorators, written once, for a kernel of
several inputs as for one: a CPU backend ``raw(a, w, out)``, array-api and jax backends
``fn(a, w)``, each the public ``name(x, w, out=None)`` with the kernel's checks."""

import numpy as np
import pytest

from kernels.ops import ArrayKernel
from kernels.ops.host import real_array


def prepare(x, w):
    a, v = real_array(x, "scaled", "rows"), real_array(w, "scaled", "weights")
    if a.ndim not in (1, 2) or v.shape != a.shape[-1:]:
        raise ValueError(f"scaled takes (N, d) or (d,) rows and (d,) weights; got {a.shape}")
    return ((a[None] if a.ndim == 1 else a), v), a.ndim == 1


kernel = ArrayKernel("scaled", prepare, "x[i, j] w[j].")
rng = np.random.default_rng(0)
X, W = rng.normal(size=(5, 4)), rng.normal(size=4)


@kernel
def on_cpu(a, w, out):
    """np.multiply."""
    np.multiply(a, w, out=out)


def test_a_cpu_backend_takes_both_inputs_and_out():
    np.testing.assert_array_equal(on_cpu(X, W), X * W)
    np.testing.assert_array_equal(on_cpu(X[0], W), X[0] * W)  # a single row: no batch axis
    out = np.empty_like(X)
    assert on_cpu(X, W, out) is out and on_cpu(X, W, out=out) is out
    np.testing.assert_array_equal(out, X * W)
    x = X.copy()
    on_cpu(x, W, out=x)  # out overlapping an input: that input is read first
    np.testing.assert_array_equal(x, X * W)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((X,), TypeError, "scaled takes 2 input array.s. and out=; got 1 arrays"),
        ((X, W, X, X), TypeError, "scaled takes 2 input array.s. and out=; got 4 arrays"),
        ((X, W[:3]), ValueError, "and .d,. weights; got .5, 4."),
        ((X, W.astype(complex)), TypeError, "scaled expects real weights"),
    ],
)
def test_a_wrong_number_or_shape_of_inputs_is_refused(args, error, message):
    with pytest.raises(error, match=message):
        on_cpu(*args)


def test_array_api_and_jax_backends_take_both_inputs():
    pytest.importorskip("array_api_compat")
    portable = kernel.portable(lambda xp, a, w: a * w)
    np.testing.assert_allclose(portable(X, W), X * W)
    strict = pytest.importorskip("array_api_strict")
    got = portable(strict.asarray(X), strict.asarray(W))
    assert not isinstance(got, np.ndarray)
    np.testing.assert_allclose(np.asarray(got), X * W)
    jax = pytest.importorskip("jax")
    compiled = kernel.jax(jax.jit(lambda a, w: a * w))
    np.testing.assert_allclose(compiled(X, W), X * W)
    from kernels.ops.jax_support import x64

    with x64(True):
        on_device = compiled(jax.numpy.asarray(X), jax.numpy.asarray(W))
    assert isinstance(on_device, jax.Array)
    np.testing.assert_allclose(np.asarray(on_device), X * W)
