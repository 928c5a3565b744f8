"""Softmax (DESIGN §2.2): the definition and its input checks.

``p[i, c] = exp(z[i, c] - max_c z[i]) / sum_c exp(z[i, c] - max_c z[i])`` over the
last axis, with each row's own maximum. A row holding NaN or +inf, or only -inf,
gives NaN, as ``scipy.special.softmax`` does. Backends: loops.py (python),
vectorized.py (numpy), jit.py (numba), each defining ``softmax(z)``.
"""
from __future__ import annotations

import numpy as np


def prepare(z) -> tuple[np.ndarray, bool]:
    """Check ``z`` and return it as a 2-D ``(N, C)`` float array.

    Accepts ``(C,)`` or ``(N, C)`` real numbers with C >= 1; float32 and float64
    keep their dtype, integers become float64. The flag says whether the input
    was 1-D. The result may be a non-contiguous view of the input.
    """
    a = np.asarray(z)
    if a.dtype.kind in "iu":
        a = a.astype(np.float64)
    elif a.dtype not in (np.float32, np.float64):
        raise TypeError(f"softmax expects real logits of dtype float32, float64 or an integer "
                        f"type; got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"softmax expects logits of shape (C,) or (N, C); got an array of "
                         f"shape {a.shape}")
    if a.shape[-1] == 0:
        raise ValueError(f"softmax needs at least one class (C >= 1); got shape {a.shape}")
    return (a[None] if a.ndim == 1 else a), a.ndim == 1
