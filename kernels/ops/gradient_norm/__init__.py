"""Gradient-norm feature (docs/design.md, section 2.1): the definition and its checks.

``g[n, i, j] = (du/drow)**2 + (du/dcol)**2`` with the derivatives of
``numpy.gradient(u, axis=a)`` (central differences inside, one-sided at the
edges, unit spacing). Each backend module beside this one defines
``gradient_norm(u, g)`` under ``@kernel`` (or its jax, portable or device form).
"""

from __future__ import annotations

import numpy as np

from .. import ArrayKernel
from ..host import real_array

DOC = """Squared gradient magnitude of each image, as numpy.gradient along both axes.

images: ``(N, H, W)`` or one image ``(H, W)``, H, W >= 2, float32/float64 (integers
are computed in float64). Returns an array of the same shape and dtype, or fills
``out`` (same shape and dtype) and returns it."""


def prepare(images) -> tuple[np.ndarray, bool]:
    """Check ``images``; return them as a C-contiguous ``(N, H, W)`` float array and
    whether the input was a single ``(H, W)`` image."""
    u = real_array(images, "gradient_norm", "images")
    if u.ndim not in (2, 3):
        raise ValueError(
            f"gradient_norm expects images of shape (N, H, W) or one image (H, W); "
            f"got an array of shape {u.shape}"
        )
    if u.shape[-2] < 2 or u.shape[-1] < 2:
        raise ValueError(
            f"gradient_norm needs H >= 2 and W >= 2 to take a difference along "
            f"each axis; got images of shape {u.shape[-2:]}"
        )
    single = u.ndim == 2
    return np.ascontiguousarray(u[None] if single else u), single


kernel = ArrayKernel("gradient_norm", prepare, DOC)
