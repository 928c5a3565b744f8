"""softmax, ``jax`` backend: jax.numpy array code compiled by XLA (jax.jit)."""

import jax
import jax.numpy as jnp

from . import kernel


@jax.jit
def _softmax(a):
    e = jnp.exp(a - a.max(axis=1, keepdims=True))  # NaN/inf rows give NaN, as scipy's
    return e / e.sum(axis=1, keepdims=True)


@kernel.jax
def softmax(a):
    """row-wise jax.numpy expressions, fused by XLA into one compiled function."""
    return _softmax(a)
