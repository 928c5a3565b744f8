"""softmax, ``python`` backend: plain loops over scalars (the reference)."""
import math

import numpy as np

from . import prepare


def softmax(z):
    """Row-wise softmax over the last axis.

    z: ``(C,)`` or ``(N, C)``, float32/float64 (integers -> float64).
    Returns probabilities of the same shape and dtype.
    """
    a, single = prepare(z)
    out = []
    for row in a.tolist():
        top = row[0]
        for v in row:
            # NaN must win, as in np.max; a plain ``v > top`` would skip it
            if v > top or v != v:
                top = v
                if v != v:
                    break
        e = [math.exp(v - top) for v in row]
        total = 0.0
        for v in e:
            total += v
        out.append([v / total for v in e])
    p = np.array(out, dtype=a.dtype).reshape(a.shape)
    return p[0] if single else p
