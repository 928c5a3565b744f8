"""softmax, ``jax`` backend: jax.numpy array code compiled by XLA (jax.jit)."""
import jax
import jax.numpy as jnp

from ..jax_support import x64
from . import kernel


@jax.jit
def _softmax(a):
    e = jnp.exp(a - a.max(axis=1, keepdims=True))   # NaN/inf rows give NaN, as scipy's
    return e / e.sum(axis=1, keepdims=True)


@kernel
def softmax(a, p):
    """row-wise jax.numpy expressions, fused by XLA into one compiled function."""
    with x64(True):
        p[...] = _softmax(a)
