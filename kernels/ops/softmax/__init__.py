"""Softmax (docs/design.md, section 2.2): the definition and its input checks.

``p[i, c] = exp(z[i, c] - max_c z[i]) / sum_c exp(z[i, c] - max_c z[i])`` over the
last axis, with each row's own maximum. A row holding NaN or +inf, or only -inf,
gives NaN, as ``scipy.special.softmax`` does. Each backend module beside this one
defines ``softmax(a, p)`` under ``@kernel`` (or its jax, portable or device form).
"""

from __future__ import annotations

import numpy as np

from .. import ArrayKernel
from ..host import real_array

DOC = """Row-wise softmax over the last axis, each row's own maximum subtracted.

z: ``(C,)`` or ``(N, C)``, C >= 1, float32/float64 (integers become float64).
Returns probabilities of the same shape and dtype, or fills ``out`` (same shape
and dtype) and returns it."""


def prepare(z) -> tuple[np.ndarray, bool]:
    """Check ``z``; return it as a 2-D ``(N, C)`` float array (possibly a
    non-contiguous view of the input) and whether the input was 1-D."""
    a = real_array(z, "softmax", "logits")
    if a.ndim not in (1, 2):
        raise ValueError(
            f"softmax expects logits of shape (C,) or (N, C); got an array of shape {a.shape}"
        )
    if a.shape[-1] == 0:
        raise ValueError(f"softmax needs at least one class (C >= 1); got shape {a.shape}")
    return (a[None] if a.ndim == 1 else a), a.ndim == 1


kernel = ArrayKernel("softmax", prepare, DOC)
