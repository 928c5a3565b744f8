"""Gradient-norm feature (DESIGN §2.1): the definition and its input checks.

``g[n, i, j] = (du/drow)**2 + (du/dcol)**2`` with the derivatives of
``numpy.gradient(u, axis=a)`` (central differences inside, one-sided at the
edges, unit spacing). Backends: loops.py (python), vectorized.py (numpy),
jit.py (numba), each defining ``gradient_norm(images)``.
"""
from __future__ import annotations

import numpy as np


def prepare(images) -> tuple[np.ndarray, bool]:
    """Check ``images`` and return them as a C-contiguous ``(N, H, W)`` float array.

    Accepts ``(N, H, W)`` or ``(H, W)``, H and W >= 2, real numbers. float32 and
    float64 keep their dtype; integers are computed in float64 (as numpy.gradient
    does). The flag says whether the input was a single ``(H, W)`` image.
    """
    u = np.asarray(images)
    kind = u.dtype.kind
    if kind in "iu":
        u = u.astype(np.float64)
    elif u.dtype not in (np.float32, np.float64):
        raise TypeError(f"gradient_norm expects real images of dtype float32, float64 or an "
                        f"integer type; got dtype {u.dtype}")
    if u.ndim not in (2, 3):
        raise ValueError(f"gradient_norm expects images of shape (N, H, W) or one image (H, W); "
                         f"got an array of shape {u.shape}")
    if u.shape[-2] < 2 or u.shape[-1] < 2:
        raise ValueError(f"gradient_norm needs H >= 2 and W >= 2 to take a difference along "
                         f"each axis; got images of shape {u.shape[-2:]}")
    single = u.ndim == 2
    return np.ascontiguousarray(u[None] if single else u), single
