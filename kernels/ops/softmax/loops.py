"""softmax, ``python`` backend: plain loops over scalars (the reference)."""

import math

from . import kernel


@kernel
def softmax(a, p):
    """plain Python loops over scalars; no NumPy call in the loops."""
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
        out.extend(v / total for v in e)
    p.reshape(-1)[:] = out  # one write-back (p is C-contiguous)
